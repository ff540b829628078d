//! Foreign keys on the target: the tables of a run are written parents first and their rows
//! deleted children first, whatever order the job file lists them in; tables that reference
//! each other need `--defer-constraints` (PostgreSQL, SQLite) or `--disable-integrity`.

use crate::common::{describe, Conn, Engine, Pair};

/// customers ← orders ← items, with real foreign keys on both sides.
const SCHEMA: &str = "
CREATE TABLE customers (id integer PRIMARY KEY, name varchar(40) NOT NULL);
CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL, total integer,
  FOREIGN KEY (customer_id) REFERENCES customers (id));
CREATE TABLE items (id integer PRIMARY KEY, order_id integer NOT NULL, sku varchar(20),
  FOREIGN KEY (order_id) REFERENCES orders (id));
";

async fn insert_range(
    conn: &Conn,
    table: &str,
    ids: std::ops::Range<i64>,
    row: impl Fn(i64) -> String,
) {
    let values: Vec<String> = ids.map(row).collect();
    conn.exec(&format!("INSERT INTO {table} VALUES {}", values.join(", ")))
        .await;
}

async fn seed(conn: &Conn) {
    conn.exec(SCHEMA).await;
    insert_range(conn, "customers", 1..201, |i| {
        format!("({i}, 'customer {i}')")
    })
    .await;
    insert_range(conn, "orders", 1..1001, |i| {
        format!("({i}, {}, {i})", i % 200 + 1)
    })
    .await;
    insert_range(conn, "items", 1..3001, |i| {
        format!("({i}, {}, 'sku{i}')", i % 1000 + 1)
    })
    .await;
}

async fn read(conn: &Conn) -> Vec<Vec<Vec<Option<String>>>> {
    let mut all = Vec::new();
    for sql in [
        "SELECT CAST(id AS CHAR(20)), name FROM customers ORDER BY id",
        "SELECT CAST(id AS CHAR(20)), CAST(customer_id AS CHAR(20)), CAST(total AS CHAR(20)) FROM orders ORDER BY id",
        "SELECT CAST(id AS CHAR(20)), CAST(order_id AS CHAR(20)), sku FROM items ORDER BY id",
    ] {
        all.push(conn.rows(sql).await);
    }
    all
}

async fn writes_parents_first_and_deletes_children_first(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    seed(&pair.source).await;
    seed(&pair.target).await;
    // The source drops customers 1..=20 with their orders and items, gains customers with new
    // orders and items, and moves some orders to a new customer.
    pair.source
        .exec(
            "DELETE FROM items WHERE order_id IN (SELECT id FROM orders WHERE customer_id <= 20);
             DELETE FROM orders WHERE customer_id <= 20;
             DELETE FROM customers WHERE id <= 20;",
        )
        .await;
    insert_range(&pair.source, "customers", 1000..1021, |i| {
        format!("({i}, 'new {i}')")
    })
    .await;
    insert_range(&pair.source, "orders", 5000..5051, |i| {
        format!("({i}, {}, 1)", 1000 + i % 21)
    })
    .await;
    insert_range(&pair.source, "items", 9000..9101, |i| {
        format!("({i}, {}, 'new')", 5000 + i % 51)
    })
    .await;
    pair.source
        .exec("UPDATE orders SET customer_id = 1000 WHERE id BETWEEN 100 AND 120 AND customer_id > 20")
        .await;
    // Listed children first: the worst order for inserts, the right one only for deletes.
    pair.job_file(
        "[defaults]\nchunk_size = 100\n\
         [[tables]]\nname = \"items\"\n[[tables]]\nname = \"orders\"\n[[tables]]\nname = \"customers\"\n",
    );
    let (code, report) = crate::common::dbdelta_json(pair.dir.path(), &["sync"]);
    assert_eq!(code, 0, "{report:#}");
    let order: Vec<&str> = report["tables"]
        .as_array()
        .map(|ts| ts.iter().filter_map(|t| t["table"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        order,
        ["customers", "orders", "items"],
        "written parents first"
    );
    assert_eq!(
        crate::common::table_report(&report, "customers")["deleted"],
        20
    );
    assert_eq!(read(&pair.source).await, read(&pair.target).await);
    let again = crate::common::dbdelta(pair.dir.path(), &["diff"]);
    assert_eq!(again.status.code(), Some(0), "{}", describe(&again));
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_writes_parents_first_and_deletes_children_first() {
    writes_parents_first_and_deletes_children_first(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_writes_parents_first_and_deletes_children_first() {
    writes_parents_first_and_deletes_children_first(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_writes_parents_first_and_deletes_children_first() {
    writes_parents_first_and_deletes_children_first(Engine::Sqlite).await;
}

/// `a` and `b` reference each other; the source's rows close the cycle.
async fn seed_cycle(pair: &Pair) {
    let schema = match pair.engine {
        Engine::Postgres => {
            "CREATE TABLE a (id integer PRIMARY KEY, b_id integer);
             CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a (id) DEFERRABLE);
             ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b (id) DEFERRABLE;"
        }
        Engine::MySql => {
            "CREATE TABLE a (id integer PRIMARY KEY, b_id integer);
             CREATE TABLE b (id integer PRIMARY KEY, a_id integer, FOREIGN KEY (a_id) REFERENCES a (id));
             ALTER TABLE a ADD FOREIGN KEY (b_id) REFERENCES b (id);"
        }
        // SQLite cannot add a foreign key later, but may name a table created after.
        Engine::Sqlite => {
            "CREATE TABLE a (id integer PRIMARY KEY, b_id integer REFERENCES b (id));
             CREATE TABLE b (id integer PRIMARY KEY, a_id integer REFERENCES a (id));"
        }
    };
    pair.exec_both(schema).await;
    let rows = "INSERT INTO a VALUES (1, 1), (2, 2); INSERT INTO b VALUES (1, 2), (2, 1);";
    let load = match pair.engine {
        Engine::Postgres => format!("BEGIN; SET CONSTRAINTS ALL DEFERRED; {rows} COMMIT;"),
        Engine::MySql => format!("SET FOREIGN_KEY_CHECKS = 0; {rows} SET FOREIGN_KEY_CHECKS = 1;"),
        Engine::Sqlite => format!("BEGIN; PRAGMA defer_foreign_keys = ON; {rows} COMMIT;"),
    };
    pair.source.exec(&load).await;
}

async fn cycle(conn: &Conn) -> Vec<Vec<Option<String>>> {
    conn.rows(
        "SELECT CAST(a.id AS CHAR(20)), CAST(a.b_id AS CHAR(20)), CAST(b.a_id AS CHAR(20)) \
         FROM a JOIN b ON b.id = a.id ORDER BY a.id",
    )
    .await
}

async fn tables_referencing_each_other(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    seed_cycle(&pair).await;
    pair.job_file("[[tables]]\nname = \"a\"\n[[tables]]\nname = \"b\"\n");
    let dir = pair.dir.path();

    let plain = crate::common::dbdelta(dir, &["sync"]);
    assert_eq!(plain.status.code(), Some(2), "{}", describe(&plain));
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(stderr.contains("reference each other"), "{stderr}");
    assert_eq!(
        pair.target.count("a").await + pair.target.count("b").await,
        0
    );

    let deferred = crate::common::dbdelta(dir, &["sync", "--defer-constraints"]);
    if engine == Engine::MySql {
        assert_eq!(deferred.status.code(), Some(2), "{}", describe(&deferred));
        assert!(
            String::from_utf8_lossy(&deferred.stderr).contains("--disable-integrity"),
            "{}",
            describe(&deferred)
        );
        assert_eq!(pair.target.count("a").await, 0, "nothing was written");
    } else {
        assert_eq!(deferred.status.code(), Some(0), "{}", describe(&deferred));
        assert_eq!(cycle(&pair.source).await, cycle(&pair.target).await);
        pair.target
            .exec("UPDATE a SET b_id = NULL; DELETE FROM b; DELETE FROM a;")
            .await;
    }

    let disabled = crate::common::dbdelta(dir, &["sync", "--disable-integrity"]);
    assert_eq!(disabled.status.code(), Some(0), "{}", describe(&disabled));
    assert_eq!(cycle(&pair.source).await, cycle(&pair.target).await);
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_tables_referencing_each_other() {
    tables_referencing_each_other(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_tables_referencing_each_other() {
    tables_referencing_each_other(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_tables_referencing_each_other() {
    tables_referencing_each_other(Engine::Sqlite).await;
}
