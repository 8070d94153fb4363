//! `Table` and `UniqueIndex` checked against a `BTreeMap` model over random operation sequences.

use std::collections::BTreeMap;
use std::ops::Bound;

use proptest::prelude::*;
use storage::{StorageConfig, StorageError, Store, Table, UniqueIndex};

/// Keys are (group, sequence) pairs so prefix scans by group are meaningful.
type K = (u8, i64);

#[derive(Debug, Clone)]
enum Op {
    Insert(K, String),
    InsertNew(K, String),
    Remove(K),
    Get(K),
    Range(K, K, bool),
    Prefix(u8, bool),
    Claim(String, K),
    Release(String, K),
}

fn key() -> impl Strategy<Value = K> {
    (0u8..4, -20i64..20)
}

fn op() -> impl Strategy<Value = Op> {
    let email = "[a-c]{1,2}";
    prop_oneof![
        4 => (key(), ".{0,12}").prop_map(|(k, v)| Op::Insert(k, v)),
        1 => (key(), ".{0,12}").prop_map(|(k, v)| Op::InsertNew(k, v)),
        2 => key().prop_map(Op::Remove),
        2 => key().prop_map(Op::Get),
        1 => (key(), key(), any::<bool>()).prop_map(|(a, b, rev)| Op::Range(a, b, rev)),
        1 => (0u8..4, any::<bool>()).prop_map(|(g, rev)| Op::Prefix(g, rev)),
        2 => (email, key()).prop_map(|(e, k)| Op::Claim(e, k)),
        1 => (email, key()).prop_map(|(e, k)| Op::Release(e, k)),
    ]
}

fn collect(entries: storage::Entries<K, String>, reverse: bool) -> Vec<(K, String)> {
    let items: Vec<_> = if reverse {
        entries.rev().map(Result::unwrap).collect()
    } else {
        entries.map(Result::unwrap).collect()
    };
    items
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn table_and_index_behave_like_maps(ops in prop::collection::vec(op(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let config = StorageConfig { data_dir: dir.path().to_owned(), cache_capacity_mb: 4, flush_every_ms: 1000, commit_window_us: 1_000, ..StorageConfig::default() };
        let store = Store::open(&config, "model").unwrap();
        let table: Table<K, String> = store.table("records").unwrap();
        let index: UniqueIndex<String, K> = store.unique_index("by_email").unwrap();
        let mut model: BTreeMap<K, String> = BTreeMap::new();
        let mut index_model: BTreeMap<String, K> = BTreeMap::new();

        for op in ops {
            match op {
                Op::Insert(k, v) => {
                    prop_assert_eq!(table.insert(&k, &v).unwrap(), model.insert(k, v));
                }
                Op::InsertNew(k, v) => {
                    let fresh = !model.contains_key(&k);
                    prop_assert_eq!(table.insert_new(&k, &v).unwrap(), fresh);
                    if fresh { model.insert(k, v); }
                }
                Op::Remove(k) => prop_assert_eq!(table.remove(&k).unwrap(), model.remove(&k)),
                Op::Get(k) => {
                    prop_assert_eq!(table.get(&k).unwrap(), model.get(&k).cloned());
                    prop_assert_eq!(table.contains(&k).unwrap(), model.contains_key(&k));
                }
                Op::Range(a, b, reverse) => {
                    let (low, high) = if a <= b { (a, b) } else { (b, a) };
                    let expected: Vec<_> = model
                        .range((Bound::Included(low), Bound::Excluded(high)))
                        .map(|(k, v)| (*k, v.clone()))
                        .collect();
                    let expected: Vec<_> = if reverse { expected.into_iter().rev().collect() } else { expected };
                    prop_assert_eq!(collect(table.range(low..high), reverse), expected);
                }
                Op::Prefix(group, reverse) => {
                    let expected: Vec<_> = model
                        .iter()
                        .filter(|(k, _)| k.0 == group)
                        .map(|(k, v)| (*k, v.clone()))
                        .collect();
                    let expected: Vec<_> = if reverse { expected.into_iter().rev().collect() } else { expected };
                    prop_assert_eq!(collect(table.scan_prefix(&group), reverse), expected);
                }
                Op::Claim(email, owner) => {
                    let result = index.claim(&email, &owner);
                    match index_model.get(&email) {
                        Some(current) if *current != owner => {
                            let conflict = matches!(result, Err(StorageError::Conflict { .. }));
                            prop_assert!(conflict);
                        }
                        _ => {
                            prop_assert!(result.is_ok());
                            index_model.insert(email, owner);
                        }
                    }
                }
                Op::Release(email, owner) => {
                    let holds = index_model.get(&email) == Some(&owner);
                    prop_assert_eq!(index.release(&email, &owner).unwrap(), holds);
                    if holds { index_model.remove(&email); }
                }
            }
            prop_assert_eq!(table.len(), model.len());
        }
        let all: Vec<_> = table.iter().map(Result::unwrap).collect();
        let expected: Vec<_> = model.into_iter().collect();
        prop_assert_eq!(all, expected);
        for (email, owner) in index_model {
            prop_assert_eq!(index.get(&email).unwrap(), Some(owner));
        }
    }
}
