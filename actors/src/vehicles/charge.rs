//! A car's charge as the fleet sees it: location's newest battery report of the car, judged
//! by the [`BatteryPolicy`] of the configuration, and the operators' list of cars to charge.
//!
//! Location owns the reports (its trackers write them from the fixes); this service only asks
//! its handle, one store read per car, so judging a page of cars costs a page of reads.

use std::ops::Bound;

use super::{
    BatteryAssessment, BatteryPolicy, Page, Vehicle, VehicleFilter, VehicleStatus, VehiclesError,
    VehiclesHandle, check_limit, page,
};
use crate::ids::VehicleId;

impl VehiclesHandle {
    /// The configured rules of charge and range.
    pub fn battery_policy(&self) -> BatteryPolicy {
        self.battery
    }

    /// `vehicle`'s charge judged now.
    pub async fn battery_of(&self, vehicle: &Vehicle) -> Result<BatteryAssessment, VehiclesError> {
        let report = self.context.location.battery(vehicle.id).await?;
        Ok(self
            .battery
            .assess(vehicle, report.as_ref(), self.context.clock.now()))
    }

    /// Cars in the fleet (retired ones aside) that operators should charge (see
    /// [`BatteryPolicy::needs_charging`]), in registration order, `limit` (1..=200) at a time
    /// after the cursor `after`. Walks the fleet: an operator's query, not a customer's.
    pub async fn needing_charge(
        &self,
        filter: VehicleFilter,
        limit: usize,
        after: Option<VehicleId>,
    ) -> Result<Page<Vehicle>, VehiclesError> {
        check_limit(limit)?;
        let start = after.map_or(Bound::Unbounded, Bound::Excluded);
        let mut items = Vec::with_capacity(limit);
        for entry in self.context.vehicles.range((start, Bound::Unbounded)) {
            let (_, record) = entry?;
            let wanted = match filter.status {
                Some(status) => record.status == status,
                None => record.status != VehicleStatus::Retired,
            };
            if !wanted {
                continue;
            }
            let vehicle = record.view();
            if !self
                .battery
                .needs_charging(&self.battery_of(&vehicle).await?)
            {
                continue;
            }
            if items.len() == limit {
                return Ok(page(items, true));
            }
            items.push(vehicle);
        }
        Ok(page(items, false))
    }
}
