//! Table and column names with upper case, spaces, quotes, backticks, reserved words and
//! non-ASCII letters sync on every engine: every identifier is quoted for its engine.

use crate::common::{dbdelta, describe, Engine, Pair};

fn quote(engine: Engine, name: &str) -> String {
    match engine {
        Engine::MySql => format!("`{}`", name.replace('`', "``")),
        _ => format!("\"{}\"", name.replace('"', "\"\"")),
    }
}

const TABLE: &str = "Order \"Items\" ñ";
const COLUMNS: [&str; 4] = ["select", "Mixed Case", "back`tick", "naïve"];

async fn awkward_names_sync(engine: Engine) {
    let Some(pair) = Pair::new(engine).await else {
        return;
    };
    let id = quote(engine, "ID");
    let columns: Vec<String> = COLUMNS.iter().map(|c| quote(engine, c)).collect();
    let text = if engine == Engine::MySql {
        "varchar(40)"
    } else {
        "text"
    };
    let definitions: Vec<String> = columns.iter().map(|c| format!("{c} {text}")).collect();
    pair.exec_both(&format!(
        "CREATE TABLE {} ({id} integer PRIMARY KEY, {})",
        quote(engine, TABLE),
        definitions.join(", ")
    ))
    .await;
    let rows: Vec<String> = (1..=50)
        .map(|i| format!("({i}, 'a{i}', 'b{i}', 'c{i}', 'd{i}')"))
        .collect();
    pair.source
        .exec(&format!(
            "INSERT INTO {} VALUES {}",
            quote(engine, TABLE),
            rows.join(", ")
        ))
        .await;
    pair.target
        .exec(&format!(
            "INSERT INTO {} ({id}, {}) VALUES (7, 'stale'), (99, 'extra')",
            quote(engine, TABLE),
            columns[0]
        ))
        .await;
    let job = pair.job_file("[[tables]]\nname = \"Order \\\"Items\\\" ñ\"\nchunk_size = 10\n");
    let job = job.to_str().unwrap_or_default();
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let output = dbdelta(pair.dir.path(), &["diff", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let select = format!(
        "SELECT {} FROM {} ORDER BY {id}",
        columns.join(", "),
        quote(engine, TABLE)
    );
    assert_eq!(
        pair.source.rows(&select).await,
        pair.target.rows(&select).await
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn postgres_quotes_every_identifier() {
    awkward_names_sync(Engine::Postgres).await;
}

#[tokio::test]
async fn mysql_quotes_every_identifier() {
    awkward_names_sync(Engine::MySql).await;
}

#[tokio::test]
async fn sqlite_quotes_every_identifier() {
    awkward_names_sync(Engine::Sqlite).await;
}
