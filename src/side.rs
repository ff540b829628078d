//! One side of a table in a run: a database, the table as that side reads it, and the data rules
//! its rows pass through. A side owns its rows: the engine returns them as the table holds them,
//! and here they become the rows the target is meant to hold (data rules applied once, for
//! checksums, listings and copies alike) and are hashed in-process where the plan says so
//! ([`TableSide::hash_in_process`], decided once when the table is planned).

use crate::engine::{Checksum, Chunk, Db, KeyGroups, TableSide};
use crate::rules::TableRules;
use crate::value::{key_bucket, row_hash, Key, TypeClass, Value};
use anyhow::Result;
use std::collections::HashMap;

/// A database and the table side it holds, with the rules of a source that has them.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub db: &'a Db,
    pub table: &'a TableSide,
    pub rules: Option<&'a TableRules>,
}

impl Side<'_> {
    /// A row as read, turned into the row the target gets (unchanged without data rules).
    fn transform(&self, row: Vec<Value>) -> Result<Vec<Value>> {
        match self.rules {
            Some(rules) => rules.apply(row),
            None => Ok(row),
        }
    }

    /// Row count and hash sum of a chunk: in SQL where the side hashes there, otherwise by
    /// reading the rows and hashing them here with the same definition.
    pub async fn checksum(&self, chunk: &Chunk) -> Result<Checksum> {
        if let Some(sum) = self.db.checksum_in_sql(self.table, chunk).await? {
            return Ok(sum);
        }
        let classes = self.table.classes();
        let mut sum = Checksum { rows: 0, sum: 0 };
        self.db
            .for_each_row(self.table, chunk, None, |row| {
                let row = self.transform(row)?;
                sum.rows += 1;
                sum.sum = sum.sum.wrapping_add(row_hash(&classes, &row));
                Ok(())
            })
            .await?;
        Ok(sum)
    }

    /// Row count and hash sum of every non-empty group of a chunk narrowed to `within` (when
    /// given), the groups being the key hash modulo `by`, in one pass (rows hashed here are
    /// streamed, so memory stays bounded).
    pub async fn grouped_checksums(
        &self,
        chunk: &Chunk,
        within: Option<&KeyGroups>,
        by: u64,
    ) -> Result<HashMap<u64, Checksum>> {
        if let Some(sums) = self
            .db
            .grouped_checksums_in_sql(self.table, chunk, within, by)
            .await?
        {
            return Ok(sums);
        }
        let classes = self.table.classes();
        let key_classes: Vec<TypeClass> = self.table.key_columns().map(|c| c.class).collect();
        let mut sums: HashMap<u64, Checksum> = HashMap::new();
        self.db
            .for_each_row(self.table, chunk, within, |row| {
                let row = self.transform(row)?;
                let group = key_bucket(&key_classes, &self.table.key_of(&row), by);
                let entry = sums.entry(group).or_insert(Checksum { rows: 0, sum: 0 });
                entry.rows += 1;
                entry.sum = entry.sum.wrapping_add(row_hash(&classes, &row));
                Ok(())
            })
            .await?;
        Ok(sums)
    }

    /// Every `(key, row hash)` pair of a chunk, narrowed to some key groups when given.
    pub async fn row_hashes(
        &self,
        chunk: &Chunk,
        groups: Option<&KeyGroups>,
    ) -> Result<Vec<(Key, u64)>> {
        if let Some(pairs) = self.db.row_hashes_in_sql(self.table, chunk, groups).await? {
            return Ok(pairs);
        }
        let classes = self.table.classes();
        let mut pairs = Vec::new();
        self.db
            .for_each_row(self.table, chunk, groups, |row| {
                let row = self.transform(row)?;
                pairs.push((self.table.key_of(&row), row_hash(&classes, &row)));
                Ok(())
            })
            .await?;
        Ok(pairs)
    }

    /// Every `(bucket, key, row hash)` of these key groups of the subset, with the row's bucket
    /// among `buckets`.
    pub async fn bucketed_row_hashes(
        &self,
        groups: &KeyGroups,
        buckets: u64,
    ) -> Result<Vec<(u64, Key, u64)>> {
        if let Some(rows) = self
            .db
            .bucketed_row_hashes_in_sql(self.table, groups, buckets)
            .await?
        {
            return Ok(rows);
        }
        let key_classes: Vec<TypeClass> = self.table.key_columns().map(|c| c.class).collect();
        Ok(self
            .row_hashes(&Chunk::everything(), Some(groups))
            .await?
            .into_iter()
            .map(|(key, hash)| (key_bucket(&key_classes, &key, buckets), key, hash))
            .collect())
    }

    /// Every row of the chunk, columns in the side's order, as the target gets them.
    pub async fn rows_in_chunk(&self, chunk: &Chunk) -> Result<Vec<Vec<Value>>> {
        let mut rows = Vec::new();
        self.db
            .for_each_row(self.table, chunk, None, |row| {
                rows.push(self.transform(row)?);
                Ok(())
            })
            .await?;
        Ok(rows)
    }

    /// The rows with these keys (missing keys are simply absent), as the target gets them.
    pub async fn rows_by_keys(&self, keys: &[Key]) -> Result<Vec<Vec<Value>>> {
        self.db
            .rows_by_keys(self.table, keys)
            .await?
            .into_iter()
            .map(|row| self.transform(row))
            .collect()
    }
}
