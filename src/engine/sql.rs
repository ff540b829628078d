//! SQL text for every operation of [`super::Db`], assembled engine-neutrally from the pieces an
//! engine's [`Dialect`] provides (quoting, placeholders, canonical and transport expressions,
//! hashes, upserts). Every identifier is quoted and every value is bound; nothing from a row is
//! ever spliced into SQL text.

use super::{
    Chunk, Column, Dialect, EngineKind, Identity, KeyEquality, KeyGroups, Param, Statement,
    TableSide, Wire,
};
use crate::value::{key_hash, Key, TypeClass, Value};

/// At most this many rows (or keys) go into one statement, well under every engine's limit on
/// bound parameters (PostgreSQL and MySQL 65,535; SQLite 32,766).
pub fn batch_rows(values_per_row: usize) -> usize {
    (30_000 / values_per_row.max(1)).clamp(1, 1_000)
}

pub fn quote_ident(kind: EngineKind, ident: &str) -> String {
    kind.dialect().quote_ident(ident)
}

/// `schema.table` or `table`, each part taken literally and quoted.
pub fn quote_table(dialect: &dyn Dialect, name: &str) -> String {
    match name.split_once('.') {
        Some((schema, table)) => {
            format!(
                "{}.{}",
                dialect.quote_ident(schema),
                dialect.quote_ident(table)
            )
        }
        None => dialect.quote_ident(name),
    }
}

/// Collects bound values and hands out the matching placeholders.
struct Binder {
    kind: EngineKind,
    values: Vec<Param>,
    /// Write integers into the text instead of binding them (for statements that take no
    /// parameters, such as `COPY`); any other value is still bound.
    inline_integers: bool,
}

impl Binder {
    fn new(kind: EngineKind) -> Binder {
        Binder {
            kind,
            values: Vec::new(),
            inline_integers: false,
        }
    }

    fn bind(&mut self, column: &Column, value: Value) -> String {
        if let (true, Value::Int(i)) = (self.inline_integers, &value) {
            return i.to_string();
        }
        let wire = select_expr(self.kind, column).1;
        self.values.push(Param::new(value, wire));
        self.kind.dialect().placeholder(self.values.len(), column)
    }

    /// An integer, or text cast to `cast` (PostgreSQL), for statements that bind a value no
    /// column describes.
    fn bind_as(&mut self, value: Value, class: TypeClass, cast: &str) -> String {
        let column = Column {
            name: String::new(),
            decl_type: cast.to_string(),
            cast_type: cast.to_string(),
            class,
            nullable: false,
            has_default: false,
            generated: false,
            collation: None,
        };
        self.bind(&column, value)
    }

    /// A modulus: bound where sets are bound (see [`Dialect::binds_integer_sets`]), so that the
    /// statement's text stays the same; written into the text elsewhere.
    fn modulus(&mut self, modulus: u64) -> String {
        if self.kind.dialect().binds_integer_sets() && !self.inline_integers {
            return self.bind_as(Value::Int(modulus as i64), TypeClass::Int, "int8");
        }
        modulus.to_string()
    }

    /// `(p1, p2)` for a composite key, `p1` for a single column.
    fn bind_key(&mut self, side: &TableSide, key: &Key) -> String {
        let parts: Vec<String> = side
            .key_columns()
            .zip(key)
            .map(|(c, v)| self.bind(c, v.clone()))
            .collect();
        tuple(parts)
    }
}

fn tuple(parts: Vec<String>) -> String {
    if parts.len() == 1 {
        parts.into_iter().next().unwrap_or_default()
    } else {
        format!("({})", parts.join(", "))
    }
}

fn key_tuple(kind: EngineKind, side: &TableSide) -> String {
    tuple(
        side.key_columns()
            .map(|c| quote_ident(kind, &c.name))
            .collect(),
    )
}

fn order_by(kind: EngineKind, side: &TableSide, descending: bool) -> String {
    let dir = if descending { " DESC" } else { "" };
    side.key_columns()
        .map(|c| format!("{}{dir}", quote_ident(kind, &c.name)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn select_expr(kind: EngineKind, column: &Column) -> (String, Wire) {
    let dialect = kind.dialect();
    dialect.select_expr(column, &dialect.quote_ident(&column.name))
}

pub fn column_wires(kind: EngineKind, side: &TableSide) -> Vec<Wire> {
    side.columns
        .iter()
        .map(|c| select_expr(kind, c).1)
        .collect()
}

pub fn key_wires(kind: EngineKind, side: &TableSide) -> Vec<Wire> {
    side.key_columns().map(|c| select_expr(kind, c).1).collect()
}

fn select_list<'a>(kind: EngineKind, columns: impl Iterator<Item = &'a Column>) -> String {
    columns
        .map(|c| select_expr(kind, c).0)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The server-side per-row hash expression, or `None` where the side's rows are hashed
/// in-process (see [`TableSide::hash_in_process`]).
fn row_hash_expr(kind: EngineKind, side: &TableSide) -> Option<String> {
    if side.hash_in_process {
        return None;
    }
    let dialect = kind.dialect();
    if side.native_rows {
        return dialect.native_row_hash_expr(&side.columns);
    }
    dialect.row_hash_expr(&canonical_fields(kind, side.columns.iter())?)
}

/// [`row_hash_expr`] as 16 hex digits, for listings packed into one text (see
/// [`Dialect::hex_row_hash_expr`]).
fn hex_row_hash_expr(kind: EngineKind, side: &TableSide) -> Option<String> {
    if side.hash_in_process {
        return None;
    }
    let dialect = kind.dialect();
    if side.native_rows {
        return dialect.native_hex_row_hash_expr(&side.columns);
    }
    dialect.hex_row_hash_expr(&canonical_fields(kind, side.columns.iter())?)
}

/// The canonical texts of these columns in SQL, or `None` where the engine computes none.
fn canonical_fields<'a>(
    kind: EngineKind,
    columns: impl Iterator<Item = &'a Column>,
) -> Option<Vec<String>> {
    let dialect = kind.dialect();
    columns
        .map(|c| dialect.canonical_expr(c, &dialect.quote_ident(&c.name)))
        .collect()
}

/// Whether the engine computes the side's key bucket in SQL; SQLite's buckets are picked
/// in-process.
pub fn buckets_in_sql(kind: EngineKind, side: &TableSide) -> bool {
    bucket_expr(kind, side, 1).is_some()
}

/// The key's hash in SQL (see [`crate::value::key_hash`]): a single integer key's low 32 bits on
/// every engine; between alike declarations ([`TableSide::native_rows`]) the engine's cheaper
/// hash where it has one; otherwise MD5 of the canonical key. `None` where the engine's keys are
/// hashed in-process.
fn key_hash_expr(kind: EngineKind, side: &TableSide) -> Option<String> {
    let dialect = kind.dialect();
    let key: Vec<&Column> = side.key_columns().collect();
    if let [column] = key.as_slice() {
        if column.class == TypeClass::Int && select_expr(kind, column).1 == Wire::Int {
            let low_bits = format!("({} & 4294967295)", dialect.quote_ident(&column.name));
            if !column.nullable {
                return Some(low_bits);
            }
            // A NULL (a column of a keyless table) hashes as its canonical encoding does.
            let null = key_hash(&[TypeClass::Int], &[Value::Null]);
            return Some(format!("COALESCE({low_bits}, {null})"));
        }
    }
    if side.native_rows {
        let columns: Vec<Column> = key.into_iter().cloned().collect();
        if let Some(hash) = dialect.native_key_hash_expr(&columns) {
            return Some(hash);
        }
        return dialect.key_hash_expr(&canonical_fields(kind, side.key_columns())?);
    }
    // Floats and JSON have no canonical text in SQL (see `crate::value`): a key holding one (the
    // whole row of a keyless table) is bucketed in-process, where the comparison buckets it.
    let portable = |c: &Column| {
        !matches!(
            c.class,
            TypeClass::Float | TypeClass::Float32 | TypeClass::Json
        )
    };
    if !key.iter().all(|c| portable(c)) {
        return None;
    }
    dialect.key_hash_expr(&canonical_fields(kind, side.key_columns())?)
}

/// The key's bucket in SQL, or `None` where the engine's buckets are picked in-process.
fn bucket_expr(kind: EngineKind, side: &TableSide, of: u64) -> Option<String> {
    key_hash_expr(kind, side).map(|hash| format!("({hash} % {of})"))
}

/// The `WHERE` conditions of a chunk narrowed to some key groups; `None` where keys are hashed
/// in-process.
fn slice_condition(
    binder: &mut Binder,
    side: &TableSide,
    chunk: &Chunk,
    groups: Option<&KeyGroups>,
) -> Option<String> {
    let condition = chunk_condition(binder, side, chunk);
    let Some(groups) = groups else {
        return Some(condition);
    };
    let hash = key_hash_expr(binder.kind, side)?;
    let residues: Vec<String> = groups.residues.iter().map(u64::to_string).collect();
    let modulus = binder.modulus(groups.modulus);
    if binder.kind.dialect().binds_integer_sets() && !binder.inline_integers {
        let set = format!("{{{}}}", residues.join(","));
        let set = binder.bind_as(Value::Text(set), TypeClass::Text, "text");
        // A semi-join against the unnested set is hashed; `= ANY(CAST(…))` would parse the
        // array again for every row.
        return Some(format!(
            "{condition} AND ({hash} % {modulus}) IN (SELECT unnest(CAST({set} AS int8[])))"
        ));
    }
    Some(format!(
        "{condition} AND ({hash} % {modulus}) IN ({})",
        residues.join(", ")
    ))
}

/// `WHERE` conditions selecting a chunk within the side's subset.
fn chunk_condition(binder: &mut Binder, side: &TableSide, chunk: &Chunk) -> String {
    let kind = binder.kind;
    let key = key_tuple(kind, side);
    let mut parts: Vec<String> = side.filter.iter().map(|f| format!("({f})")).collect();
    match chunk {
        Chunk::Range(range) => {
            if let Some(lower) = &range.lower {
                parts.push(format!("{key} >= {}", binder.bind_key(side, lower)));
            }
            if let Some(upper) = &range.upper {
                parts.push(format!("{key} < {}", binder.bind_key(side, upper)));
            }
        }
        Chunk::Bucket { index, of } => {
            // Without a bucket in SQL the caller keeps the bucket's rows from the whole subset.
            if let Some(bucket) = bucket_expr(kind, side, *of) {
                parts.push(format!("{bucket} = {index}"));
            }
        }
    }
    if parts.is_empty() {
        "1 = 1".to_string()
    } else {
        parts.join(" AND ")
    }
}

/// `WHERE` condition matching exactly these keys.
fn keys_condition(binder: &mut Binder, side: &TableSide, keys: &[Key]) -> String {
    let kind = binder.kind;
    let items: Vec<String> = keys.iter().map(|k| binder.bind_key(side, k)).collect();
    let key = key_tuple(kind, side);
    if side.key.len() > 1 {
        kind.dialect().row_values_in(&key, &items)
    } else {
        format!("{key} IN ({})", items.join(", "))
    }
}

/// `WHERE` condition matching these keys and no other: [`keys_condition`], through the key's
/// index, and where the side's key equality is coarse ([`TableSide::coarse_key`]) also each
/// key value for value, so that `key7` never matches a row the run has just rewritten as
/// `Key7`. Every key is bound twice then.
fn exact_keys_condition(binder: &mut Binder, side: &TableSide, keys: &[Key]) -> String {
    let by_index = keys_condition(binder, side, keys);
    if !side.coarse_key {
        return by_index;
    }
    let dialect = binder.kind.dialect();
    let exact = |column: &Column, expr: String| match dialect.key_equality(column) {
        KeyEquality::Coarse => dialect.exact_key_expr(&expr),
        KeyEquality::Exact => expr,
    };
    let key = tuple(
        side.key_columns()
            .map(|c| exact(c, dialect.quote_ident(&c.name)))
            .collect(),
    );
    let items: Vec<String> = keys
        .iter()
        .map(|k| {
            let values: Vec<String> = side
                .key_columns()
                .zip(k)
                .map(|(c, v)| {
                    let placeholder = binder.bind(c, v.clone());
                    exact(c, placeholder)
                })
                .collect();
            tuple(values)
        })
        .collect();
    let exactly = if side.key.len() > 1 {
        dialect.row_values_in(&key, &items)
    } else {
        format!("{key} IN ({})", items.join(", "))
    };
    format!("{by_index} AND {exactly}")
}

/// Keys per `DELETE` by key: bound twice where they are also compared exactly.
pub fn delete_batch(side: &TableSide) -> usize {
    let per_key = if side.coarse_key { 2 } else { 1 };
    batch_rows(side.key.len() * per_key)
}

/// Every `step`-th key strictly between `after` and `before`, in one ordered pass: the keys that
/// start a new chunk. Counting from the first row, positions step+1, 2·step+1, …; counting from an
/// exclusive lower bound, positions step, 2·step, … (each chunk then holds `step` rows).
pub fn boundaries(
    kind: EngineKind,
    side: &TableSide,
    after: Option<&Key>,
    before: Option<&Key>,
    step: u64,
) -> Statement {
    let mut b = Binder::new(kind);
    let condition = between_condition(&mut b, side, after, before);
    let step = step.max(1);
    if kind == EngineKind::Postgres {
        return (
            walk_boundaries(kind, side, &condition, after.is_some(), step),
            b.values,
        );
    }
    let position = if after.is_some() {
        format!("dbdelta_rn % {step} = 0")
    } else {
        format!("dbdelta_rn > 1 AND (dbdelta_rn - 1) % {step} = 0")
    };
    let inner: Vec<String> = side
        .key_columns()
        .enumerate()
        .map(|(i, c)| format!("{} AS dbdelta_k{i}", select_expr(kind, c).0))
        .collect();
    let outer: Vec<String> = (0..inner.len()).map(|i| format!("dbdelta_k{i}")).collect();
    let text = format!(
        "SELECT {} FROM (SELECT {}, ROW_NUMBER() OVER (ORDER BY {}) AS dbdelta_rn FROM {} WHERE {condition}) s \
         WHERE {position} ORDER BY dbdelta_rn",
        outer.join(", "),
        inner.join(", "),
        order_by(kind, side, false),
        side.table,
    );
    (text, b.values)
}

/// The side's subset strictly between two keys (either open).
fn between_condition(
    b: &mut Binder,
    side: &TableSide,
    after: Option<&Key>,
    before: Option<&Key>,
) -> String {
    let key = key_tuple(b.kind, side);
    let mut conditions: Vec<String> = side.filter.iter().map(|f| format!("({f})")).collect();
    if let Some(after) = after {
        conditions.push(format!("{key} > {}", b.bind_key(side, after)));
    }
    if let Some(before) = before {
        conditions.push(format!("{key} < {}", b.bind_key(side, before)));
    }
    if conditions.is_empty() {
        "1 = 1".to_string()
    } else {
        conditions.join(" AND ")
    }
}

/// The key `skip` rows past the first key strictly between `after` and `before`, if there is
/// one: a step of [`boundaries`] walked a query at a time, as MySQL and SQLite do it fastest
/// near the source (an index range skipped in place; 2M MariaDB keys in 0.7 s, where numbering
/// every row takes 3.7 s).
pub fn boundary_step(
    kind: EngineKind,
    side: &TableSide,
    after: Option<&Key>,
    before: Option<&Key>,
    skip: u64,
) -> Statement {
    let mut b = Binder::new(kind);
    let condition = between_condition(&mut b, side, after, before);
    // SQLite and MySQL take OFFSET only after a LIMIT.
    let text = format!(
        "SELECT {} FROM {} WHERE {condition} ORDER BY {} LIMIT 1 OFFSET {skip}",
        select_list(kind, side.key_columns()),
        side.table,
        order_by(kind, side, false),
    );
    (text, b.values)
}

/// [`boundaries`] as PostgreSQL walks them fastest: a recursive query whose every step skips
/// `step` entries of the key index (`OFFSET … LIMIT 1` after the previous boundary), about a
/// fifth of the cost of numbering every row with `ROW_NUMBER()` (2M keys: 0.13 s against 0.5 s).
/// The table's columns stay unqualified, so a subset's condition reads them as it was written.
fn walk_boundaries(
    kind: EngineKind,
    side: &TableSide,
    condition: &str,
    after: bool,
    step: u64,
) -> String {
    let columns: Vec<&Column> = side.key_columns().collect();
    let names: Vec<String> = (0..columns.len())
        .map(|i| format!("dbdelta_k{i}"))
        .collect();
    let walked = tuple(names.iter().map(|n| format!("dbdelta_walk.{n}")).collect());
    let key = key_tuple(kind, side);
    let order = order_by(kind, side, false);
    let keys = columns
        .iter()
        .map(|c| quote_ident(kind, &c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let first_offset = if after { step - 1 } else { step };
    let outer: Vec<String> = columns
        .iter()
        .zip(&names)
        .map(|(c, n)| {
            kind.dialect()
                .select_expr(c, &format!("dbdelta_walk.{n}"))
                .0
        })
        .collect();
    format!(
        "WITH RECURSIVE dbdelta_walk({}, dbdelta_n) AS (\
           (SELECT {keys}, 1 FROM {table} WHERE {condition} ORDER BY {order} OFFSET {first_offset} LIMIT 1) \
           UNION ALL \
           SELECT dbdelta_next.*, dbdelta_walk.dbdelta_n + 1 FROM dbdelta_walk, LATERAL (\
             SELECT {keys} FROM {table} WHERE {condition} AND {key} > {walked} \
             ORDER BY {order} OFFSET {} LIMIT 1) dbdelta_next) \
         SELECT {} FROM dbdelta_walk ORDER BY dbdelta_walk.dbdelta_n",
        names.join(", "),
        step - 1,
        outer.join(", "),
        table = side.table,
    )
}

pub fn extreme_key(kind: EngineKind, side: &TableSide, last: bool) -> String {
    format!(
        "SELECT {} FROM {} WHERE {} ORDER BY {} LIMIT 1",
        select_list(kind, side.key_columns()),
        side.table,
        side.filter.as_deref().unwrap_or("1 = 1"),
        order_by(kind, side, last),
    )
}

/// Which of these keys exist in the table outside the side's subset (rows a write must not touch).
/// `None` without a subset.
pub fn keys_outside_subset(kind: EngineKind, side: &TableSide, keys: &[Key]) -> Option<Statement> {
    // Without a unique index nothing outside the subset can stand in a new row's way; a target
    // holding copies of a key outside the subset never sees them deleted (`delete_keys`).
    if side.identity == Identity::WholeRow {
        return None;
    }
    let filter = side.filter.as_deref()?;
    let unfiltered = TableSide {
        filter: None,
        ..side.clone()
    };
    let mut b = Binder::new(kind);
    let condition = keys_condition(&mut b, &unfiltered, keys);
    // A condition that is NULL for a row does not select it, so that row is outside too.
    let text = format!(
        "SELECT {} FROM {} WHERE {condition} AND NOT COALESCE(({filter}), 1 = 0)",
        select_list(kind, side.key_columns()),
        side.table
    );
    Some((text, b.values))
}

pub fn checksum(kind: EngineKind, side: &TableSide, chunk: &Chunk) -> Option<Statement> {
    let hash = row_hash_expr(kind, side)?;
    let mut b = Binder::new(kind);
    let condition = chunk_condition(&mut b, side, chunk);
    let sum = kind.dialect().sum_expr(&hash);
    let text = format!(
        "SELECT COUNT(*), {sum} FROM {} WHERE {condition}",
        side.table
    );
    Some((text, b.values))
}

pub fn row_hashes(
    kind: EngineKind,
    side: &TableSide,
    chunk: &Chunk,
    groups: Option<&KeyGroups>,
) -> Option<Statement> {
    row_hash_listing(kind, side, chunk, groups, None)
}

/// [`row_hashes`] with each row's hash bucket among `buckets` first: `(bucket, key…, hash)`.
pub fn bucketed_row_hashes(
    kind: EngineKind,
    side: &TableSide,
    groups: &KeyGroups,
    buckets: u64,
) -> Option<Statement> {
    row_hash_listing(
        kind,
        side,
        &Chunk::everything(),
        Some(groups),
        Some(buckets),
    )
}

/// `(key…, row hash)` of a chunk's rows in some key groups, led by the row's bucket among
/// `buckets` when given.
fn row_hash_listing(
    kind: EngineKind,
    side: &TableSide,
    chunk: &Chunk,
    groups: Option<&KeyGroups>,
    buckets: Option<u64>,
) -> Option<Statement> {
    let hash = row_hash_expr(kind, side)?;
    let bucket = match buckets {
        Some(of) => format!("{}, ", kind.dialect().bigint(&bucket_expr(kind, side, of)?)),
        None => String::new(),
    };
    let mut b = Binder::new(kind);
    let condition = slice_condition(&mut b, side, chunk, groups)?;
    let text = format!(
        "SELECT {bucket}{}, {hash} FROM {} WHERE {condition}",
        select_list(kind, side.key_columns()),
        side.table
    );
    Some((text, b.values))
}

/// The key column of a listing that may come packed: a table's single unique key column that
/// travels as one of these wires. A query's key may be NULL, which only the row-per-key listing
/// reports clearly.
fn packable_key<'a>(kind: EngineKind, side: &'a TableSide, wires: &[Wire]) -> Option<&'a Column> {
    match side.key_columns().collect::<Vec<_>>().as_slice() {
        [key]
            if !side.from_query
                && side.identity == Identity::Unique
                && wires.contains(&select_expr(kind, key).1) =>
        {
            Some(*key)
        }
        _ => None,
    }
}

/// [`row_hashes`] as two arrays in one row (keys, hashes), PostgreSQL's form (`array_agg`) for a
/// single key column carried as an integer or as text (UUIDs, text, dates…). Decoding two arrays
/// costs the client a fraction of decoding a row per key.
pub fn row_hashes_packed(
    kind: EngineKind,
    side: &TableSide,
    chunk: &Chunk,
    groups: Option<&KeyGroups>,
) -> Option<Statement> {
    let key = packable_key(kind, side, &[Wire::Int, Wire::Text])?;
    let hash = row_hash_expr(kind, side)?;
    let mut b = Binder::new(kind);
    let condition = slice_condition(&mut b, side, chunk, groups)?;
    let text = format!(
        "SELECT COALESCE(array_agg({}), '{{}}'), COALESCE(array_agg({hash}), '{{}}') FROM {} WHERE {condition}",
        select_expr(kind, key).0,
        side.table
    );
    Some((text, b.values))
}

/// [`row_hashes`] packed into one text, MySQL's form of [`row_hashes_packed`]: the row count,
/// and `key hash key hash …` with each hash as 16 hex digits (`N` for a row too large to hash),
/// for a single integer key column. A text cut short by `group_concat_max_len` shows in the
/// count.
pub fn row_hashes_concatenated(
    kind: EngineKind,
    side: &TableSide,
    chunk: &Chunk,
    groups: Option<&KeyGroups>,
) -> Option<Statement> {
    let key = packable_key(kind, side, &[Wire::Int])?;
    let hash = hex_row_hash_expr(kind, side)?;
    let mut b = Binder::new(kind);
    let condition = slice_condition(&mut b, side, chunk, groups)?;
    let text = format!(
        "SELECT COUNT(*), GROUP_CONCAT({}, ' ', COALESCE({hash}, 'N') SEPARATOR ' ') FROM {} WHERE {condition}",
        select_expr(kind, key).0,
        side.table
    );
    Some((text, b.values))
}

pub fn rows_in_chunk(kind: EngineKind, side: &TableSide, chunk: &Chunk) -> Statement {
    let mut b = Binder::new(kind);
    let condition = chunk_condition(&mut b, side, chunk);
    // A whole row has no order worth a sort (and a PostgreSQL `json` column none at all).
    let order = match side.identity {
        Identity::WholeRow => String::new(),
        _ => format!(" ORDER BY {}", order_by(kind, side, false)),
    };
    let text = format!(
        "SELECT {} FROM {} WHERE {condition}{order}",
        select_list(kind, side.columns.iter()),
        side.table,
    );
    (text, b.values)
}

pub fn rows_by_keys(kind: EngineKind, side: &TableSide, keys: &[Key]) -> Statement {
    let mut b = Binder::new(kind);
    let condition = keys_condition(&mut b, side, keys);
    let text = format!(
        "SELECT {} FROM {} WHERE {condition}",
        select_list(kind, side.columns.iter()),
        side.table
    );
    (text, b.values)
}

pub fn delete_chunk(kind: EngineKind, side: &TableSide, chunk: &Chunk) -> Statement {
    let mut b = Binder::new(kind);
    let condition = chunk_condition(&mut b, side, chunk);
    (
        format!("DELETE FROM {} WHERE {condition}", side.table),
        b.values,
    )
}

/// Row count and hash sum of every group of a chunk (narrowed to `within`, when given), the
/// groups being the key hash modulo `by`, in one scan: `(group, count, sum)` rows. With the whole
/// subset as the chunk and no `within`, the groups are the hash buckets of a table chunked by key
/// hash.
pub fn grouped_checksums(
    kind: EngineKind,
    side: &TableSide,
    chunk: &Chunk,
    within: Option<&KeyGroups>,
    by: u64,
) -> Option<Statement> {
    group_sums(kind, side, chunk, within, by, |hash| {
        kind.dialect().sum_expr(hash)
    })
}

/// [`grouped_checksums`] as three arrays in one row (groups, counts, sums), PostgreSQL's form:
/// each sum reduced modulo 2^64 into a signed `int8`, so that a group costs 36 bytes on the wire
/// instead of about 55 as a row with a decimal sum.
pub fn grouped_checksums_packed(
    kind: EngineKind,
    side: &TableSide,
    chunk: &Chunk,
    within: Option<&KeyGroups>,
    by: u64,
) -> Option<Statement> {
    let (sums, params) = group_sums(kind, side, chunk, within, by, |hash| {
        format!("COALESCE(SUM({hash}), 0)::numeric")
    })?;
    const TWO_64: &str = "18446744073709551616";
    let text = format!(
        "SELECT COALESCE(array_agg(g), '{{}}'), COALESCE(array_agg(c), '{{}}'), \
                COALESCE(array_agg(CAST(CASE WHEN r >= 9223372036854775808 THEN r - {TWO_64} \
                                             ELSE r END AS int8)), '{{}}') \
         FROM (SELECT g, c, mod(mod(s, {TWO_64}) + {TWO_64}, {TWO_64}) AS r \
               FROM ({sums}) sums) wrapped"
    );
    Some((text, params))
}

/// `SELECT g, c, s … GROUP BY 1`: each group's number (one signed 64-bit type on every engine),
/// row count and `sum` of the row hashes, for the rows of a chunk within some groups.
fn group_sums(
    kind: EngineKind,
    side: &TableSide,
    chunk: &Chunk,
    within: Option<&KeyGroups>,
    by: u64,
    sum: impl Fn(&str) -> String,
) -> Option<Statement> {
    let hash = row_hash_expr(kind, side)?;
    let mut b = Binder::new(kind);
    let group = format!("({} % {})", key_hash_expr(kind, side)?, b.modulus(by));
    let group = kind.dialect().bigint(&group);
    let condition = slice_condition(&mut b, side, chunk, within)?;
    let text = if kind == EngineKind::Postgres {
        // Hashed in a subquery that `OFFSET 0` keeps apart: PostgreSQL then sorts or hashes
        // `(group, hash)` pairs rather than whole rows, whose hashes an aggregate would compute
        // only after its sort (measured on 2M rows: 2.1 s against 3.1 s).
        format!(
            "SELECT g, COUNT(*) AS c, {} AS s \
             FROM (SELECT {group} AS g, {hash} AS h FROM {} WHERE {condition} OFFSET 0) hashed \
             GROUP BY 1",
            sum("h"),
            side.table
        )
    } else {
        format!(
            "SELECT {group} AS g, COUNT(*) AS c, {} AS s FROM {} WHERE {condition} GROUP BY 1",
            sum(&hash),
            side.table
        )
    };
    Some((text, b.values))
}

/// `SELECT` of a chunk's rows with every value written into the text, for `COPY (…) TO STDOUT`,
/// which takes no parameters: only for chunks whose bounds are integers (or buckets).
pub fn select_chunk_literal(kind: EngineKind, side: &TableSide, chunk: &Chunk) -> Option<String> {
    let mut b = Binder::new(kind);
    b.inline_integers = true;
    let condition = chunk_condition(&mut b, side, chunk);
    if !b.values.is_empty() {
        return None;
    }
    let columns: Vec<String> = side
        .columns
        .iter()
        .map(|c| quote_ident(kind, &c.name))
        .collect();
    Some(format!(
        "SELECT {} FROM {} WHERE {condition}",
        columns.join(", "),
        side.table
    ))
}

/// One row of the subset, if there is any.
pub fn any_row(kind: EngineKind, side: &TableSide) -> Statement {
    let mut b = Binder::new(kind);
    let condition = chunk_condition(&mut b, side, &Chunk::everything());
    let text = format!(
        "SELECT {} FROM {} WHERE {condition} LIMIT 1",
        select_list(kind, side.key_columns()),
        side.table
    );
    (text, b.values)
}

/// Every column as read, and the row hash where it is computed in SQL, of the side's subset,
/// returning no row: the server still parses and plans it, so a `where`, a `query` or a column
/// that a run would trip over fails here.
pub fn probe(kind: EngineKind, side: &TableSide) -> Statement {
    let mut b = Binder::new(kind);
    let condition = chunk_condition(&mut b, side, &Chunk::everything());
    let mut columns = select_list(kind, side.columns.iter());
    if let Some(hash) = row_hash_expr(kind, side) {
        columns = format!("{columns}, {hash}");
    }
    let text = format!(
        "SELECT {columns} FROM {} WHERE {condition} LIMIT 0",
        side.table
    );
    (text, b.values)
}

pub fn count(kind: EngineKind, side: &TableSide) -> Statement {
    let mut b = Binder::new(kind);
    let condition = chunk_condition(&mut b, side, &Chunk::everything());
    (
        format!("SELECT COUNT(*) FROM {} WHERE {condition}", side.table),
        b.values,
    )
}

pub fn delete_keys(kind: EngineKind, side: &TableSide, keys: &[Key]) -> Statement {
    let mut b = Binder::new(kind);
    let mut condition = exact_keys_condition(&mut b, side, keys);
    // Without a unique index a key may also stand outside the subset, where it stays.
    if let (Identity::Unindexed, Some(filter)) = (side.identity, &side.filter) {
        condition = format!("{condition} AND ({filter})");
    }
    (
        format!("DELETE FROM {} WHERE {condition}", side.table),
        b.values,
    )
}

/// `DELETE` of `copies` of the rows of a keyless side ([`Identity::WholeRow`]) equal to `row`,
/// within the subset: every column compared NULL-safely, and exactly where the column's own
/// equality is coarse, so that `'a'` never deletes an `'A'`.
pub fn delete_copies(kind: EngineKind, side: &TableSide, row: &Key, copies: u64) -> Statement {
    let dialect = kind.dialect();
    let mut b = Binder::new(kind);
    let mut parts: Vec<String> = side.filter.iter().map(|f| format!("({f})")).collect();
    for (column, value) in side.columns.iter().zip(row) {
        let (mut left, mut right) = (
            dialect.quote_ident(&column.name),
            b.bind(column, value.clone()),
        );
        if dialect.key_equality(column) == KeyEquality::Coarse {
            (left, right) = (
                dialect.exact_key_expr(&left),
                dialect.exact_key_expr(&right),
            );
        }
        parts.push(dialect.null_safe_equal(column, &left, &right));
    }
    let condition = if parts.is_empty() {
        "1 = 1".to_string()
    } else {
        parts.join(" AND ")
    };
    (
        dialect.delete_limited(&side.table, &side.columns, &condition, copies),
        b.values,
    )
}

/// A key the side's subset holds on more than one row, if any: one grouped scan.
pub fn first_duplicate_key(kind: EngineKind, side: &TableSide) -> Statement {
    let mut b = Binder::new(kind);
    let condition = chunk_condition(&mut b, side, &Chunk::everything());
    let text = format!(
        "SELECT {} FROM {} WHERE {condition} GROUP BY {} HAVING COUNT(*) > 1 LIMIT 1",
        select_list(kind, side.key_columns()),
        side.table,
        order_by(kind, side, false)
    );
    (text, b.values)
}

/// One multi-row INSERT of these rows (values in the side's column order).
pub fn insert(kind: EngineKind, side: &TableSide, rows: &[Vec<Value>]) -> Statement {
    let mut b = Binder::new(kind);
    let columns: Vec<String> = side
        .columns
        .iter()
        .map(|c| quote_ident(kind, &c.name))
        .collect();
    let tuples: Vec<String> = rows
        .iter()
        .map(|row| {
            let params: Vec<String> = side
                .columns
                .iter()
                .zip(row)
                .map(|(c, v)| b.bind(c, v.clone()))
                .collect();
            format!("({})", params.join(", "))
        })
        .collect();
    let text = format!(
        "INSERT INTO {} ({}){} VALUES {}",
        side.table,
        columns.join(", "),
        kind.dialect().insert_overriding(),
        tuples.join(", ")
    );
    (text, b.values)
}

/// One multi-row INSERT that updates rows whose key already exists: their other columns, and
/// where the key equality is coarse ([`TableSide::coarse_key`]) their key columns too, so that
/// a row found by a key of another spelling takes the source's.
pub fn upsert(kind: EngineKind, side: &TableSide, rows: &[Vec<Value>]) -> Statement {
    let (text, params) = insert(kind, side, rows);
    let keys: Vec<String> = side
        .key_columns()
        .map(|c| quote_ident(kind, &c.name))
        .collect();
    let updated: Vec<String> = side
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| side.coarse_key || !side.key.contains(i))
        .map(|(_, c)| quote_ident(kind, &c.name))
        .collect();
    let conflict = kind.dialect().upsert_clause(&keys, &updated);
    (format!("{text} {conflict}"), params)
}

/// `CREATE TEMPORARY TABLE` (and, first, `DROP` of a leftover of the same name) of a key table
/// (see `key_table.rs`): `key` declared as in the side's table, and an ordinal column.
pub fn create_key_table(
    kind: EngineKind,
    side: &TableSide,
    name: &str,
    ordinal: &str,
) -> [Statement; 2] {
    let dialect = kind.dialect();
    let (name, ordinal) = (dialect.quote_ident(name), dialect.quote_ident(ordinal));
    let key: Vec<Column> = side.key_columns().cloned().collect();
    [
        (dialect.drop_temporary_table(&name), Vec::new()),
        (
            dialect.create_temporary_table(&name, &side.table, &key, &ordinal),
            Vec::new(),
        ),
    ]
}

/// The smallest ordinal of the first rows, in the order they were added, that the key table's
/// key equality takes for one key, if there are any.
pub fn first_collision(kind: EngineKind, table: &TableSide, ordinal: &str) -> String {
    format!(
        "SELECT MIN({}) FROM {} GROUP BY {} HAVING COUNT(*) > 1 ORDER BY 1 LIMIT 1",
        quote_ident(kind, ordinal),
        table.table,
        order_by(kind, table, false)
    )
}

/// The key of the key table's row with this ordinal.
pub fn key_at(kind: EngineKind, table: &TableSide, ordinal: &Column, n: i64) -> Statement {
    let mut b = Binder::new(kind);
    let text = format!(
        "SELECT {} FROM {} WHERE {} = {}",
        select_list(kind, table.key_columns()),
        table.table,
        quote_ident(kind, &ordinal.name),
        b.bind(ordinal, Value::Int(n))
    );
    (text, b.values)
}

/// The first two keys, in the order they were added, that the key table takes for `key`: the
/// comparison is the table's own (its columns' collations), not the bound values'.
pub fn first_two_equal(
    kind: EngineKind,
    table: &TableSide,
    ordinal: &Column,
    key: &Key,
) -> Statement {
    let mut b = Binder::new(kind);
    let text = format!(
        "SELECT {} FROM {} WHERE {} = {} ORDER BY {} LIMIT 2",
        select_list(kind, table.key_columns()),
        table.table,
        key_tuple(kind, table),
        b.bind_key(table, key),
        quote_ident(kind, &ordinal.name)
    );
    (text, b.values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::TypeClass;

    fn side(kind: EngineKind, key: Vec<usize>) -> TableSide {
        let col = |name: &str| Column {
            name: name.to_string(),
            decl_type: "bigint".into(),
            cast_type: "bigint".into(),
            class: TypeClass::Int,
            nullable: false,
            has_default: false,
            generated: false,
            collation: None,
        };
        TableSide {
            table: quote_table(kind.dialect(), "s.t"),
            columns: vec![col("a"), col("b"), col("v")],
            key,
            filter: None,
            from_query: false,
            hash_in_process: false,
            native_rows: false,
            coarse_key: false,
            identity: Identity::Unique,
        }
    }

    #[test]
    fn identifiers_are_quoted_per_engine() {
        assert_eq!(
            quote_ident(EngineKind::Postgres, "we\"ird"),
            "\"we\"\"ird\""
        );
        assert_eq!(quote_ident(EngineKind::MySql, "or`der"), "`or``der`");
        assert_eq!(
            quote_table(EngineKind::Sqlite.dialect(), "main.t"),
            "\"main\".\"t\""
        );
    }

    #[test]
    fn ranges_bind_values_with_typed_placeholders() {
        let s = side(EngineKind::Postgres, vec![0]);
        let range = Chunk::Range(super::super::KeyRange {
            lower: Some(vec![Value::Int(1)]),
            upper: Some(vec![Value::Int(9)]),
        });
        let (text, params) = delete_chunk(EngineKind::Postgres, &s, &range);
        assert_eq!(
            text,
            "DELETE FROM \"s\".\"t\" WHERE \"a\" >= CAST($1 AS bigint) AND \"a\" < CAST($2 AS bigint)"
        );
        assert_eq!(params.len(), 2);
    }

    #[test]
    fn composite_keys_use_row_values() {
        let s = side(EngineKind::Sqlite, vec![0, 1]);
        let keys = vec![
            vec![Value::Int(1), Value::Int(2)],
            vec![Value::Int(3), Value::Int(4)],
        ];
        let (text, params) = delete_keys(EngineKind::Sqlite, &s, &keys);
        assert_eq!(
            text,
            "DELETE FROM \"s\".\"t\" WHERE (\"a\", \"b\") IN (VALUES (?, ?) UNION ALL VALUES (?, ?))"
        );
        assert_eq!(params.len(), 4);
    }

    #[test]
    fn native_row_hashes_cover_the_whole_row_exactly() {
        let mut pg = side(EngineKind::Postgres, vec![0]);
        pg.native_rows = true;
        assert_eq!(
            row_hash_expr(EngineKind::Postgres, &pg).as_deref(),
            Some(
                "hashtextextended(hash_record_extended(ROW(int8send(\"a\"::int8), \
                 int8send(\"b\"::int8), int8send(\"v\"::int8)), 0)::text, 0)"
            )
        );
        let mut my = side(EngineKind::MySql, vec![0]);
        my.native_rows = true;
        let hash = row_hash_expr(EngineKind::MySql, &my).unwrap_or_default();
        assert!(
            hash.contains("SHA2(CONCAT(QUOTE(`a`), ',', QUOTE(`b`), ',', QUOTE(`v`)), 256)"),
            "{hash}"
        );
        // A chunk's listing packs the same hash as hex digits, the canonical one as well.
        let everything = Chunk::everything();
        let (packed, _) =
            row_hashes_concatenated(EngineKind::MySql, &my, &everything, None).unwrap_or_default();
        assert!(
            packed.contains("COALESCE(SUBSTRING(SHA2(CONCAT(QUOTE(`a`)")
                && !packed.contains("CONV("),
            "{packed}"
        );
        my.native_rows = false;
        let (packed, _) =
            row_hashes_concatenated(EngineKind::MySql, &my, &everything, None).unwrap_or_default();
        assert!(
            packed.contains("COALESCE(SUBSTRING(MD5(CONCAT("),
            "{packed}"
        );
        my.hash_in_process = true;
        assert!(row_hashes_concatenated(EngineKind::MySql, &my, &everything, None).is_none());
    }

    #[test]
    fn a_coarse_key_is_deleted_exactly_and_upserted_with_its_spelling() {
        let mut s = side(EngineKind::MySql, vec![0]);
        s.columns[0].class = TypeClass::Text;
        s.columns[0].decl_type = "varchar(9)".into();
        s.columns[0].collation = Some("utf8mb4_general_ci".into());
        s.coarse_key = true;
        let keys = vec![vec![Value::Text("key7".into())]];
        let (text, params) = delete_keys(EngineKind::MySql, &s, &keys);
        assert_eq!(
            text,
            "DELETE FROM `s`.`t` WHERE `a` IN (?) AND CAST(CONVERT(`a` USING utf8mb4) AS BINARY) \
             IN (CAST(CONVERT(? USING utf8mb4) AS BINARY))"
        );
        assert_eq!(params.len(), 2);
        let rows = vec![vec![Value::Text("Key7".into()), Value::Int(2), Value::Null]];
        let (text, _) = upsert(EngineKind::MySql, &s, &rows);
        assert!(
            text.ends_with(
                "ON DUPLICATE KEY UPDATE `a` = VALUES(`a`), `b` = VALUES(`b`), `v` = VALUES(`v`)"
            ),
            "{text}"
        );
        // A composite key pairs each key's columns in the exact comparison too.
        let mut s = side(EngineKind::Sqlite, vec![0, 1]);
        s.columns[1].class = TypeClass::Text;
        s.columns[1].collation = Some("NOCASE".into());
        s.coarse_key = true;
        let keys = vec![vec![Value::Int(1), Value::Text("a".into())]];
        let (text, _) = delete_keys(EngineKind::Sqlite, &s, &keys);
        assert!(
            text.ends_with("AND (\"a\", \"b\" COLLATE BINARY) IN (VALUES (?, ? COLLATE BINARY))"),
            "{text}"
        );
    }

    #[test]
    fn upserts_update_non_key_columns() {
        let s = side(EngineKind::MySql, vec![0]);
        let rows = vec![vec![Value::Int(1), Value::Int(2), Value::Null]];
        let (text, _) = upsert(EngineKind::MySql, &s, &rows);
        assert!(
            text.ends_with("ON DUPLICATE KEY UPDATE `b` = VALUES(`b`), `v` = VALUES(`v`)"),
            "{text}"
        );
    }
}
