//! A temporary table of keys on one connection, its key columns declared exactly as a table
//! declares them (type, character set, collation): the database's own equality then says which
//! of the keys it takes for one key, with nothing approximated in this process (see
//! `crate::collisions`).
//!
//! The table lives in one transaction on one connection ([`Db::session`]) and is dropped by
//! [`KeyTable::close`]; the transaction is rolled back, so nothing is ever written to the
//! database's own tables.

use super::{sql, Column, Db, Identity, TableSide, Wire};
use crate::value::{Key, TypeClass, Value};
use anyhow::{bail, Result};

/// The temporary table's name; one per session, so it cannot meet another run's.
const NAME: &str = "dbdelta_keys";
/// The column numbering the keys in the order they were added, to find a pair again.
const ORDINAL: &str = "dbdelta_ordinal";

/// Keys held under a table's key equality.
pub struct KeyTable {
    /// The session the temporary table lives in.
    db: Db,
    /// The temporary table as a side: the key columns as declared in the table, then the
    /// ordinal.
    side: TableSide,
    next: i64,
}

impl KeyTable {
    /// An empty key table on a session of `db`, its key columns declared as in `side`'s table.
    pub async fn create(db: &Db, side: &TableSide) -> Result<KeyTable> {
        let db = db.session().await?;
        db.execute_in_transaction(&sql::create_key_table(db.kind, side, NAME, ORDINAL))
            .await?;
        let mut columns: Vec<Column> = side.key_columns().cloned().collect();
        let key = (0..columns.len()).collect();
        columns.push(ordinal_column());
        let side = TableSide {
            table: db.dialect().quote_ident(NAME),
            columns,
            key,
            filter: None,
            from_query: false,
            hash_in_process: false,
            native_rows: false,
            coarse_key: false,
            identity: Identity::Unique,
        };
        Ok(KeyTable { db, side, next: 0 })
    }

    /// Adds these keys, values as the table's key columns take them.
    pub async fn insert(&mut self, keys: Vec<Key>) -> Result<()> {
        let rows: Vec<Vec<Value>> = keys
            .into_iter()
            .map(|mut key| {
                key.push(Value::Int(self.next));
                self.next += 1;
                key
            })
            .collect();
        let statements: Vec<_> = rows
            .chunks(sql::batch_rows(self.side.columns.len()))
            .map(|batch| sql::insert(self.db.kind, &self.side, batch))
            .collect();
        self.db.execute_in_transaction(&statements).await?;
        Ok(())
    }

    /// The first two keys, in the order they were added, that the table's equality takes for
    /// one key; `None` when it tells every key apart. Three small queries rather than one with
    /// subqueries: MySQL cannot refer to a temporary table twice in one statement.
    pub async fn colliding_pair(&self) -> Result<Option<(Key, Key)>> {
        let kind = self.db.kind;
        let wires = sql::key_wires(kind, &self.side);
        let text = sql::first_collision(kind, &self.side, ORDINAL);
        let first = match self.db.fetch(&text, &[], &[Wire::Int]).await?.first() {
            None => return Ok(None),
            Some(row) => match row.as_slice() {
                [Value::Int(n)] => *n,
                other => bail!("unexpected ordinal {other:?}"),
            },
        };
        let (text, params) = sql::key_at(kind, &self.side, &ordinal_column(), first);
        let Some(key) = self.db.fetch(&text, &params, &wires).await?.pop() else {
            bail!("no key numbered {first} in the key table");
        };
        let (text, params) = sql::first_two_equal(kind, &self.side, &ordinal_column(), &key);
        let keys = self.db.fetch(&text, &params, &wires).await?;
        match <[Key; 2]>::try_from(keys) {
            Ok([a, b]) => Ok(Some((a, b))),
            Err(keys) => bail!("expected two colliding keys, found {}", keys.len()),
        }
    }

    /// Drops the table and rolls its session back.
    pub async fn close(self) -> Result<()> {
        let drop = self.db.dialect().drop_temporary_table(&self.side.table);
        self.db
            .execute_in_transaction(&[(drop, Vec::new())])
            .await?;
        Ok(())
    }
}

fn ordinal_column() -> Column {
    Column {
        name: ORDINAL.to_string(),
        decl_type: "bigint".into(),
        cast_type: "bigint".into(),
        class: TypeClass::Int,
        nullable: false,
        has_default: false,
        generated: false,
        collation: None,
    }
}
