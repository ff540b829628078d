//! CI data seeding end to end: `dbdelta init --from` a production-like source with three tables
//! linked by foreign keys and personal data, the written job file completed with a target and
//! data rules, then `sync`: every row present, every rule applied, the constraints holding, a
//! second run writing nothing, and later source changes arriving as just those rows.

use crate::common::{dbdelta, describe, table_report, Conn, Engine, Pair};
use std::collections::HashSet;

const CUSTOMERS: i64 = 120;

/// The same schema on both sides; the target (a fresh CI database) also insists on unique emails.
fn schema(engine: Engine) -> String {
    let text = if engine == Engine::MySql {
        "varchar(200)"
    } else {
        "text"
    };
    format!(
        "CREATE TABLE customers (id integer PRIMARY KEY, email varchar(100) NOT NULL,
           phone varchar(30), first_name varchar(40), last_name varchar(40), ssn varchar(11),
           birth_date date, credit_score integer, notes {text});
         CREATE TABLE orders (id integer PRIMARY KEY, customer_id integer NOT NULL,
           shipping_address varchar(200), total integer NOT NULL,
           FOREIGN KEY (customer_id) REFERENCES customers (id));
         CREATE TABLE order_items (id integer PRIMARY KEY, order_id integer NOT NULL,
           sku varchar(20) NOT NULL, quantity integer NOT NULL,
           FOREIGN KEY (order_id) REFERENCES orders (id));"
    )
}

const RULES: &str = r#"
[data_rules]
email = "unique_email"
phone = "unique_phone"
"customers.last_name" = { value = "Doe" }
"*.ssn" = "null"
birth_date = "random_date"
credit_score = { rule = "random_int", min = 300, max = 850 }
notes = { rule = "random_string", length = 20 }
shipping_address = "hash"
first_name = "untouched"
"#;

async fn seed_source(conn: &Conn) {
    let customers: Vec<String> = (1..=CUSTOMERS)
        .map(|i| {
            format!(
                "({i}, 'person{i}@corp.example', '+1 212 555 {i:04}', 'First{i}', 'Last{i}', \
                 '123-45-{i:04}', '1975-03-{:02}', {}, 'vip customer {i}')",
                i % 28 + 1,
                500 + i
            )
        })
        .collect();
    let orders: Vec<String> = (1..=CUSTOMERS * 3)
        .map(|i| {
            format!(
                "({i}, {}, '{} Main Street', {})",
                i % CUSTOMERS + 1,
                i % 40,
                i * 7
            )
        })
        .collect();
    let items: Vec<String> = (1..=CUSTOMERS * 6)
        .map(|i| {
            format!(
                "({i}, {}, 'sku-{}', {})",
                i % (CUSTOMERS * 3) + 1,
                i % 17,
                i % 5 + 1
            )
        })
        .collect();
    conn.exec(&format!(
        "INSERT INTO customers VALUES {};
         INSERT INTO orders VALUES {};
         INSERT INTO order_items VALUES {};",
        customers.join(", "),
        orders.join(", "),
        items.join(", ")
    ))
    .await;
}

/// `customers` as the target holds it, by id: email, phone, first and last name, ssn, birth
/// date, credit score, notes.
async fn customers(conn: &Conn) -> Vec<Vec<Option<String>>> {
    conn.rows(
        "SELECT CAST(id AS CHAR(20)), email, phone, first_name, last_name, ssn, \
         CAST(birth_date AS CHAR(20)), CAST(credit_score AS CHAR(20)), notes \
         FROM customers ORDER BY id",
    )
    .await
}

async fn addresses(conn: &Conn) -> Vec<(String, Option<String>)> {
    conn.rows("SELECT CAST(id AS CHAR(20)), shipping_address FROM orders ORDER BY id")
        .await
        .into_iter()
        .map(|r| (r[0].clone().unwrap_or_default(), r[1].clone()))
        .collect()
}

/// Rows of orders and items that are not about personal data, compared as they are.
async fn plain_rows(conn: &Conn) -> Vec<Vec<Option<String>>> {
    let mut rows = conn
        .rows(
            "SELECT CAST(id AS CHAR(20)), CAST(customer_id AS CHAR(20)), CAST(total AS CHAR(20)) \
             FROM orders ORDER BY id",
        )
        .await;
    rows.extend(
        conn.rows(
            "SELECT CAST(id AS CHAR(20)), CAST(order_id AS CHAR(20)), sku, \
             CAST(quantity AS CHAR(20)) FROM order_items ORDER BY id",
        )
        .await,
    );
    rows
}

/// A read-back cell as plain text: without SQLite's storage-class tag or `CHAR(n)` padding.
fn plain(cell: &Option<String>) -> String {
    let text = cell.as_deref().unwrap_or_default();
    let text = ["t:", "i:"]
        .iter()
        .find_map(|tag| text.strip_prefix(tag))
        .unwrap_or(text);
    text.trim_end().to_string()
}

/// Writes the job file the way a user would: `init --from` the source, then the seed on top,
/// the target's URL in place of the placeholder, and the rules at the end.
fn job_file_from_init(pair: &Pair) {
    let dir = pair.dir.path();
    let init = dbdelta(
        dir,
        &["init", "--from", &pair.source_url, "-c", "sync.toml"],
    );
    assert_eq!(init.status.code(), Some(0), "{}", describe(&init));
    let written = std::fs::read_to_string(dir.join("sync.toml")).expect("init wrote the file");
    for table in ["customers", "orders", "order_items"] {
        assert!(
            written.contains(&format!("[[tables]]\nname = \"{table}\"\nkey = \"id\"")),
            "init lists {table} with its key:\n{written}"
        );
    }
    let mut lines: Vec<String> = Vec::new();
    let mut in_target = false;
    for line in written.lines() {
        in_target = match line {
            "[target]" => true,
            l if l.starts_with('[') => false,
            _ => in_target,
        };
        if in_target && line.starts_with("url = ") {
            lines.push(format!("url = \"{}\"", pair.target_url));
        } else {
            lines.push(line.to_string());
        }
    }
    let job = format!(
        "data_rules_seed = \"${{SEEDING_TEST_SEED}}\"\n{}\n{RULES}",
        lines.join("\n")
    );
    std::fs::write(dir.join("sync.toml"), job).expect("write job file");
}

fn sync_json(pair: &Pair) -> serde_json::Value {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .args(["sync", "--json"])
        .env("SEEDING_TEST_SEED", "ci-secret-seed")
        .current_dir(pair.dir.path())
        .output()
        .expect("run dbdelta");
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stdout.contains("ci-secret-seed") && !stderr.contains("ci-secret-seed"),
        "the seed is never printed"
    );
    serde_json::from_slice(&output.stdout).expect("--json prints JSON")
}

async fn seeding_a_ci_database(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    pair.exec_both(&schema(engine)).await;
    pair.target
        .exec("CREATE UNIQUE INDEX customers_email ON customers (email)")
        .await;
    seed_source(&pair.source).await;
    job_file_from_init(&pair);

    let report = sync_json(&pair);
    for table in ["customers", "orders", "order_items"] {
        assert_eq!(
            table_report(&report, table)["error"],
            serde_json::Value::Null
        );
    }
    // All rows present, the non-personal columns exact, the foreign keys intact.
    assert_eq!(pair.target.count("customers").await, CUSTOMERS);
    assert_eq!(
        plain_rows(&pair.source).await,
        plain_rows(&pair.target).await
    );
    assert_eq!(
        pair.target
            .count_where("orders", "customer_id NOT IN (SELECT id FROM customers)")
            .await,
        0
    );
    assert_eq!(
        pair.target
            .count_where("order_items", "order_id NOT IN (SELECT id FROM orders)")
            .await,
        0
    );

    // Every rule, read back from the target.
    let source = customers(&pair.source).await;
    let target = customers(&pair.target).await;
    let mut emails = HashSet::new();
    let mut phones = HashSet::new();
    for (s, t) in source.iter().zip(&target) {
        let (email, phone) = (plain(&t[1]), plain(&t[2]));
        assert_eq!(s[0], t[0]);
        assert!(
            email.ends_with("@example.com") && email != plain(&s[1]),
            "{email}"
        );
        assert!(emails.insert(email), "emails are unique");
        assert!(phones.insert(phone.clone()), "phones are unique");
        assert_ne!(phone, plain(&s[2]), "phone replaced");
        assert_eq!(t[3], s[3], "first_name untouched");
        assert_eq!(plain(&t[4]), "Doe");
        assert_eq!(t[5], None, "ssn removed");
        let date = plain(&t[6]);
        assert!(
            date.len() >= 10 && date.as_bytes()[4] == b'-',
            "a date: {date}"
        );
        let score: i64 = plain(&t[7]).parse().unwrap_or(-1);
        assert!((300..=850).contains(&score), "credit score {score}");
        let notes = plain(&t[8]);
        assert_eq!(notes.len(), 20, "{notes}");
        assert_ne!(notes, plain(&s[8]));
    }
    // `hash`: replaced, and equal source values stay equal (joins on them still work).
    let (source_addresses, target_addresses) =
        (addresses(&pair.source).await, addresses(&pair.target).await);
    let mut hashed: std::collections::HashMap<Option<String>, Option<String>> =
        std::collections::HashMap::new();
    for ((_, original), (_, replaced)) in source_addresses.iter().zip(&target_addresses) {
        assert_ne!(original, replaced);
        let first = hashed.entry(original.clone()).or_insert(replaced.clone());
        assert_eq!(first, replaced, "one address, one hash");
    }

    // A second run compares equal and writes nothing.
    let again = sync_json(&pair);
    for table in ["customers", "orders", "order_items"] {
        let t = table_report(&again, table);
        assert_eq!(
            (&t["inserted"], &t["updated"], &t["deleted"]),
            (&0.into(), &0.into(), &0.into()),
            "{t:#}"
        );
    }
    assert_eq!(
        customers(&pair.target).await,
        target,
        "the same values again"
    );

    // Production moves on: a new customer with an order and an item, and one customer gone
    // with everything of theirs. Exactly those rows are written, parents first.
    pair.source
        .exec(
            "INSERT INTO customers VALUES (9001, 'new@corp.example', NULL, 'New', 'Person', \
               '999-99-9999', '1990-01-01', 700, 'fresh');
             INSERT INTO orders VALUES (9001, 9001, '1 New Road', 10);
             INSERT INTO order_items VALUES (9001, 9001, 'sku-new', 1);
             DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE customer_id = 7);
             DELETE FROM orders WHERE customer_id = 7;
             DELETE FROM customers WHERE id = 7;",
        )
        .await;
    let deleted_items = pair
        .target
        .count_where(
            "order_items",
            "order_id IN (SELECT id FROM orders WHERE customer_id = 7)",
        )
        .await;
    let later = sync_json(&pair);
    let written = |table: &str| {
        let t = table_report(&later, table);
        (
            t["inserted"].as_i64(),
            t["updated"].as_i64(),
            t["deleted"].as_i64(),
        )
    };
    assert_eq!(written("customers"), (Some(1), Some(0), Some(1)));
    assert_eq!(written("orders"), (Some(1), Some(0), Some(3)));
    assert_eq!(
        written("order_items"),
        (Some(1), Some(0), Some(deleted_items))
    );
    assert_eq!(
        plain_rows(&pair.source).await,
        plain_rows(&pair.target).await
    );
    let diff = std::process::Command::new(env!("CARGO_BIN_EXE_dbdelta"))
        .arg("diff")
        .env("SEEDING_TEST_SEED", "ci-secret-seed")
        .current_dir(pair.dir.path())
        .output()
        .expect("run dbdelta");
    assert_eq!(diff.status.code(), Some(0), "{}", describe(&diff));
    // Without the seed's variable the job file does not load: the seed is never guessed.
    let unset = dbdelta(pair.dir.path(), &["diff"]);
    assert_eq!(unset.status.code(), Some(2), "{}", describe(&unset));
    assert!(String::from_utf8_lossy(&unset.stderr).contains("SEEDING_TEST_SEED"));
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_seeding_a_ci_database() {
    seeding_a_ci_database(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_seeding_a_ci_database() {
    seeding_a_ci_database(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_seeding_a_ci_database() {
    seeding_a_ci_database(Engine::Sqlite).await;
}
