//! Query-defined sources in every mode, and groups with a variable, on every engine: the target
//! rows the query owns end as the mode promises, rows outside `target_where` are never touched,
//! a group syncs exactly one tenant of three related tables, and a hostile group value is data.

use crate::common::{dbdelta, dbdelta_json, describe, table_report, Conn, Engine, Pair};

fn text(engine: Engine, column: &str) -> String {
    match engine {
        Engine::Postgres => format!("{column}::text"),
        Engine::MySql => format!("CAST({column} AS CHAR)"),
        Engine::Sqlite => column.to_string(),
    }
}

async fn rows(conn: &Conn, sql: &str) -> Vec<Vec<Option<String>>> {
    conn.rows(sql).await
}

const QUERY: &str = "SELECT c.id, c.name, SUM(o.total) AS lifetime_total \
                     FROM customers c JOIN orders o ON o.customer_id = c.id \
                     WHERE c.active = 1 GROUP BY c.id, c.name";

/// Source: customers and their orders. Target: `active_customers`, partly stale, plus rows the
/// query does not own (id >= 100000).
async fn setup_query(pair: &Pair) {
    let (money, flag) = match pair.engine {
        Engine::Sqlite => ("NUMERIC", "INTEGER"),
        _ => ("decimal(14,2)", "smallint"),
    };
    pair.source
        .exec(&format!(
            "CREATE TABLE customers (id integer PRIMARY KEY, name varchar(50) NOT NULL, active {flag} NOT NULL)"
        ))
        .await;
    pair.source
        .exec(&format!(
            "CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL, total {money} NOT NULL)"
        ))
        .await;
    let customers: Vec<String> = (1..=400)
        .map(|i| format!("({i}, 'customer ü {i}', {})", i32::from(i % 5 != 0)))
        .collect();
    pair.source
        .exec(&format!(
            "INSERT INTO customers VALUES {}",
            customers.join(", ")
        ))
        .await;
    let orders: Vec<String> = (1..=1600)
        .map(|i| format!("({i}, {}, {}.{:02})", i % 400 + 1, i % 97, i % 100))
        .collect();
    pair.source
        .exec(&format!("INSERT INTO orders VALUES {}", orders.join(", ")))
        .await;
    pair.target
        .exec("DROP TABLE IF EXISTS active_customers")
        .await;
    pair.target
        .exec(&format!(
            "CREATE TABLE active_customers (id integer PRIMARY KEY, name varchar(50) NOT NULL, lifetime_total {money})"
        ))
        .await;
    // Stale owned rows (some also absent from the query: inactive customers), and rows outside.
    let stale: Vec<String> = (1..=450)
        .step_by(3)
        .map(|i| format!("({i}, 'old {i}', 1.00)"))
        .chain((100_000..100_020).map(|i| format!("({i}, 'not owned {i}', 7.00)")))
        .collect();
    pair.target
        .exec(&format!(
            "INSERT INTO active_customers VALUES {}",
            stale.join(", ")
        ))
        .await;
}

async fn query_modes(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let dir = pair.dir.path();
    // SQLite's NUMERIC affinity stores 197.0 as the integer 197: compare the numbers as money.
    let money = match engine {
        Engine::Sqlite => "printf('%.2f', lifetime_total)".to_string(),
        _ => text(engine, "lifetime_total"),
    };
    let select = |table: &str, condition: &str| {
        format!(
            "SELECT {}, name, {money} FROM {table} WHERE {condition} ORDER BY id",
            text(engine, "id"),
        )
    };
    for mode in ["sync", "upsert", "insert-only", "truncate"] {
        pair.source.exec("DROP TABLE IF EXISTS customers").await;
        pair.source.exec("DROP TABLE IF EXISTS orders").await;
        setup_query(&pair).await;
        let expected = rows(&pair.source, &select(&format!("({QUERY}) q"), "1 = 1")).await;
        let owned_before = rows(&pair.target, &select("active_customers", "id < 100000")).await;
        let outside_before = rows(&pair.target, &select("active_customers", "id >= 100000")).await;
        let path = pair.job_file(&format!(
            "[defaults]\nchunk_size = 50\n[[tables]]\nname = \"active_customers\"\nquery = \"\"\"{QUERY}\"\"\"\n\
             key = \"id\"\ntarget_where = \"id < 100000\"\nmode = \"{mode}\"\n"
        ));
        let job = path.to_str().unwrap_or_default();
        let (code, report) = dbdelta_json(dir, &["sync", "-c", job]);
        assert_eq!(code, 0, "{mode}: {report:#}");
        let owned = rows(&pair.target, &select("active_customers", "id < 100000")).await;
        assert_eq!(
            rows(&pair.target, &select("active_customers", "id >= 100000")).await,
            outside_before,
            "{mode}: rows outside target_where are untouched"
        );
        match mode {
            "sync" | "truncate" => {
                assert_eq!(owned, expected, "{mode}: owned rows equal the query")
            }
            "upsert" => {
                for row in &expected {
                    assert!(owned.contains(row), "upsert writes {row:?}");
                }
                assert!(owned.len() > expected.len(), "upsert deletes nothing");
            }
            _ => {
                for row in &owned_before {
                    assert!(owned.contains(row), "insert-only keeps {row:?}");
                }
                for row in &expected {
                    assert!(
                        owned.iter().any(|r| r[0] == row[0]),
                        "insert-only adds {row:?}"
                    );
                }
            }
        }
        if mode == "sync" {
            assert!(table_report(&report, "active_customers")["deleted"].as_u64() > Some(0));
            let output = dbdelta(dir, &["diff", "-c", job]);
            assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
        }
    }
    pair.cleanup().await;
}

const TENANT_TABLES: [&str; 3] = ["customers", "orders", "invoices"];

async fn group_with_variable(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let dir = pair.dir.path();
    for table in TENANT_TABLES {
        pair.exec_both(&format!(
            "CREATE TABLE {table} (id integer PRIMARY KEY, tenant_id integer NOT NULL, label varchar(40))"
        ))
        .await;
        let values: Vec<String> = (1..=300)
            .map(|i| format!("({i}, {}, '{table} {i}')", i % 3))
            .collect();
        pair.source
            .exec(&format!("INSERT INTO {table} VALUES {}", values.join(", ")))
            .await;
        pair.target
            .exec(&format!(
                "INSERT INTO {table} SELECT id, tenant_id, 'stale' FROM (SELECT 1 AS id, 1 AS tenant_id \
                 UNION ALL SELECT 2, 2 UNION ALL SELECT 3, 0 UNION ALL SELECT 1000, 2) s"
            ))
            .await;
    }
    let path = pair.job_file(
        "[[tables]]\nname = \"orders\"\nchunk_size = 40\n\
         [groups.tenant]\ntables = [\"customers\", \"orders\", \"invoices\"]\nwhere = \"tenant_id = {1}\"\n",
    );
    let job = path.to_str().unwrap_or_default();
    let select = |table: &str, condition: &str| {
        format!(
            "SELECT {}, {}, label FROM {table} WHERE {condition} ORDER BY id",
            text(engine, "id"),
            text(engine, "tenant_id")
        )
    };
    let mut others = Vec::new();
    for table in TENANT_TABLES {
        others.push(rows(&pair.target, &select(table, "tenant_id <> 2")).await);
    }
    let output = dbdelta(dir, &["sync", "-c", job, "tenant:2"]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    for (table, other) in TENANT_TABLES.iter().zip(&others) {
        assert_eq!(
            rows(&pair.target, &select(table, "tenant_id = 2")).await,
            rows(&pair.source, &select(table, "tenant_id = 2")).await,
            "{table}: tenant 2 is synced"
        );
        assert_eq!(
            &rows(&pair.target, &select(table, "tenant_id <> 2")).await,
            other,
            "{table}: other tenants untouched"
        );
    }

    // A hostile value is quoted as a literal: the statement it carries never runs.
    let hostile = "tenant:2; DROP TABLE invoices; --";
    let listing = dbdelta(dir, &["list", "-c", job, hostile]);
    assert_eq!(listing.status.code(), Some(0), "{}", describe(&listing));
    assert!(
        String::from_utf8_lossy(&listing.stdout)
            .contains("tenant_id = '2; DROP TABLE invoices; --'"),
        "{}",
        describe(&listing)
    );
    let output = dbdelta(dir, &["sync", "-c", job, hostile]);
    assert!(
        matches!(output.status.code(), Some(0 | 2)),
        "{}",
        describe(&output)
    );
    // Both tables still exist, and hold what they held: 300 rows; tenant 2's 100 plus the two
    // rows of other tenants.
    assert_eq!(pair.source.count("invoices").await, 300);
    assert_eq!(pair.target.count("invoices").await, 102);
    let (code, _) = dbdelta_json(dir, &["diff", "-c", job, "tenant:2"]);
    assert_eq!(code, 0, "tenant 2 is still in sync");
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_query_subsets_in_every_mode() {
    query_modes(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_query_subsets_in_every_mode() {
    query_modes(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_query_subsets_in_every_mode() {
    query_modes(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_group_syncs_one_tenant_and_quotes_values() {
    group_with_variable(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_group_syncs_one_tenant_and_quotes_values() {
    group_with_variable(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_group_syncs_one_tenant_and_quotes_values() {
    group_with_variable(Engine::Sqlite).await;
}
