//! The harness itself: a test server that cannot be used is told apart by what is missing (the
//! server, the login, the database), so that a skipped test says what to fix, and
//! `DBDELTA_REQUIRE_SERVERS=1` fails on every kind.

use crate::common::{connect, mysql_admin_url, pg_admin_url, with_database, Engine, Unavailable};

fn admin_url(engine: Engine) -> String {
    match engine {
        Engine::Postgres => pg_admin_url(),
        _ => mysql_admin_url(),
    }
}

/// What connecting to `url` reports as missing; `None` when it connects.
async fn missing(engine: Engine, url: &str) -> Option<Unavailable> {
    match connect(engine, url).await {
        Ok(_) => None,
        Err(e) => Some(Unavailable::of(&e)),
    }
}

#[tokio::test]
async fn a_closed_port_is_a_missing_server() {
    for (engine, url) in [
        (Engine::Postgres, "postgres://postgres@127.0.0.1:1/test"),
        (Engine::MySql, "mysql://root@127.0.0.1:1/test"),
    ] {
        assert_eq!(
            missing(engine, url).await,
            Some(Unavailable::Server),
            "{engine:?}"
        );
    }
}

/// On a running server, a missing database and an unknown role are named as such, never as an
/// unreachable server.
#[tokio::test]
async fn a_missing_database_or_role_is_not_a_missing_server() {
    for engine in [Engine::Postgres, Engine::MySql] {
        let admin = admin_url(engine);
        if let Some(reason) = missing(engine, &admin).await {
            let what = reason.describe(engine, &admin);
            assert!(
                std::env::var("DBDELTA_REQUIRE_SERVERS").as_deref() != Ok("1"),
                "{what} (DBDELTA_REQUIRE_SERVERS=1)"
            );
            eprintln!("NOTICE: skipping {engine:?}: {what}");
            continue;
        }
        let no_database = with_database(&admin, "dbdelta_no_such_database");
        assert_eq!(
            missing(engine, &no_database).await,
            Some(Unavailable::Database),
            "{engine:?}: {no_database}"
        );
        assert!(Unavailable::Database
            .describe(engine, &no_database)
            .contains("has no database `dbdelta_no_such_database`"));
        let mut no_role = url::Url::parse(&admin).expect("test server URL parses");
        no_role
            .set_username("dbdelta_no_such_role")
            .expect("the URL takes a user name");
        assert_eq!(
            missing(engine, no_role.as_str()).await,
            Some(Unavailable::Login),
            "{engine:?}: {no_role}"
        );
    }
}
