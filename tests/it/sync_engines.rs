//! A real sync of an `items` table on each engine (PostgreSQL, MariaDB, SQLite, same engine on
//! both sides) with spread and clustered changes, then a first load into an empty target and the
//! emptying of the source, read back on both sides (the scenarios are in `common::scenario`).
//! One table of engines drives both tests; the engines run concurrently.

use crate::common::{scenario, Engine};

const ENGINES: [Engine; 3] = [Engine::Postgres, Engine::MySql, Engine::Sqlite];

#[tokio::test]
async fn syncs_spread_and_clustered_changes_exactly() {
    futures::future::join_all(ENGINES.map(scenario::spread_and_clustered_changes)).await;
}

#[tokio::test]
async fn fills_an_empty_target_and_empties_it_again() {
    futures::future::join_all(ENGINES.map(scenario::first_load_and_emptying)).await;
}
