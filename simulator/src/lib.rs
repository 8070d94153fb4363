//! The fleet simulator: drives thousands of cars and customers through the services.
