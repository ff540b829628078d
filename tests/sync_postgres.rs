//! Postgres → Postgres: a real sync of an `items` table with spread and clustered changes, read back
//! on both sides (the scenarios are in `common::scenario`).

mod common;

use common::{scenario, Engine};

#[tokio::test]
async fn syncs_spread_and_clustered_changes_exactly() {
    scenario::spread_and_clustered_changes(Engine::Postgres).await;
}

#[tokio::test]
async fn fills_an_empty_target_and_empties_it_again() {
    scenario::first_load_and_emptying(Engine::Postgres).await;
}
