//! Bad input gets exit code 2, a message naming what to fix, no password in any output, and no
//! write to the target.

use crate::common::{dbdelta, describe, write_job, Engine, Pair};
use std::process::Output;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_error(output: &Output, needles: &[&str]) {
    assert_eq!(output.status.code(), Some(2), "{}", describe(output));
    let text = stderr(output);
    for needle in needles {
        assert!(
            text.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            describe(output)
        );
    }
}

/// A SQLite pair with a `good` table that differs between the sides.
async fn sqlite_pair() -> Pair {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    pair.exec_both("CREATE TABLE good (id INTEGER PRIMARY KEY, v TEXT)")
        .await;
    pair.source
        .exec("INSERT INTO good VALUES (1, 'a'), (2, 'b')")
        .await;
    pair
}

async fn target_untouched(pair: &Pair) {
    assert_eq!(
        pair.target.count("good").await,
        0,
        "nothing was written to the target"
    );
}

#[tokio::test]
async fn malformed_toml_names_file_and_line() {
    let pair = sqlite_pair().await;
    let job = pair.job_file("[[tables]]\nname = \"good\"\nchunk_size = = 3\n");
    let output = dbdelta(
        pair.dir.path(),
        &["sync", "-c", job.to_str().unwrap_or_default()],
    );
    assert_error(&output, &["sync.toml", "line 7"]);
    target_untouched(&pair).await;
}

#[tokio::test]
async fn unknown_keys_and_bad_values_are_named() {
    let pair = sqlite_pair().await;
    let dir = pair.dir.path();
    for (rest, needles) in [
        (
            "[[tables]]\nname = \"good\"\nchunksize = 3\n",
            vec!["line 7", "chunksize"],
        ),
        (
            "[[tables]]\nname = \"good\"\nchunk_size = 0\n",
            vec!["sync.toml:7", "chunk_size must be a positive number"],
        ),
        (
            "[defaults]\njobs = -1\n[[tables]]\nname = \"good\"\n",
            vec!["sync.toml:6", "jobs must be a number from 1 to 1024"],
        ),
        ("", vec!["no [[tables]]"]),
        (
            "[[tables]]\nname = \"good\"\n[[tables]]\nname = \"good\"\n",
            vec!["listed twice"],
        ),
    ] {
        let job = pair.job_file(rest);
        let output = dbdelta(dir, &["sync", "-c", job.to_str().unwrap_or_default()]);
        assert_error(&output, &needles);
    }
    target_untouched(&pair).await;
}

#[tokio::test]
async fn unknown_table_is_named_and_nothing_is_written() {
    let pair = sqlite_pair().await;
    let job = pair.job_file("[[tables]]\nname = \"good\"\n[[tables]]\nname = \"nope\"\n");
    let output = dbdelta(
        pair.dir.path(),
        &["sync", "-c", job.to_str().unwrap_or_default()],
    );
    assert_error(&output, &["table nope does not exist in the source"]);
    // `good` comes first and differs, but every table is checked before anything is written.
    target_untouched(&pair).await;

    // A table named only on the command line is looked up with the defaults.
    let job = job.to_str().unwrap_or_default();
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job, "other"]);
    assert_error(&output, &["table other does not exist in the source"]);
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job, "where id = 1"]);
    assert_error(&output, &["must follow the name of the table it filters"]);
}

#[tokio::test]
async fn tables_that_cannot_be_compared_are_refused_before_writing() {
    let pair = sqlite_pair().await;
    pair.source
        .exec("CREATE TABLE strict_target (id INTEGER PRIMARY KEY, v TEXT)")
        .await;
    pair.target
        .exec("CREATE TABLE strict_target (id INTEGER PRIMARY KEY, v TEXT, must TEXT NOT NULL)")
        .await;
    pair.exec_both("CREATE TABLE floaty (f REAL PRIMARY KEY NOT NULL, v TEXT)")
        .await;
    pair.source
        .exec("CREATE TABLE typed (id INTEGER PRIMARY KEY, v BLOB)")
        .await;
    pair.target
        .exec("CREATE TABLE typed (id INTEGER PRIMARY KEY, v INTEGER)")
        .await;
    for (table, needles) in [
        (
            "strict_target",
            vec!["target column \"must\" is NOT NULL without a default"],
        ),
        ("floaty", vec!["key column \"f\"", "cannot be keys"]),
        ("typed", vec!["column \"v\" cannot be compared"]),
    ] {
        let job = pair.job_file(&format!(
            "[[tables]]\nname = \"good\"\n[[tables]]\nname = \"{table}\"\n"
        ));
        let output = dbdelta(
            pair.dir.path(),
            &["sync", "-c", job.to_str().unwrap_or_default()],
        );
        assert_error(&output, &needles);
    }
    let job = pair.job_file("[[tables]]\nname = \"good\"\nkey = \"missing\"\n");
    let output = dbdelta(
        pair.dir.path(),
        &["sync", "-c", job.to_str().unwrap_or_default()],
    );
    assert_error(
        &output,
        &["key column \"missing\" does not exist in the source"],
    );
    target_untouched(&pair).await;
}

#[tokio::test]
async fn unset_variables_are_named_without_echoing_the_url() {
    let pair = sqlite_pair().await;
    let path = write_job(
        &pair.dir.path().join("vars.toml"),
        "postgres://app:${DBDELTA_TEST_UNSET_SECRET}@127.0.0.1:1/app",
        "sqlite://target.db",
        "[[tables]]\nname = \"good\"\n",
    );
    let output = dbdelta(
        pair.dir.path(),
        &["sync", "-c", path.to_str().unwrap_or_default()],
    );
    assert_error(
        &output,
        &["DBDELTA_TEST_UNSET_SECRET is not set", "vars.toml:2"],
    );
}

#[tokio::test]
async fn unreachable_servers_fail_without_printing_the_password() {
    let pair = sqlite_pair().await;
    for (url, needles) in [
        (
            "postgres://app:hunter2secret@127.0.0.1:1/app",
            vec![
                "error: cannot connect to the source (postgres://app:***@127.0.0.1:1/app): ",
                "Connection refused",
            ],
        ),
        (
            "mysql://app:hunter2secret@127.0.0.1:1/app",
            vec!["error: cannot connect to the source (mysql://app:***@127.0.0.1:1/app): "],
        ),
        ("sqlite://missing.db", vec!["missing.db does not exist"]),
    ] {
        let path = write_job(
            &pair.dir.path().join("remote.toml"),
            url,
            "sqlite://target.db",
            "[[tables]]\nname = \"good\"\n",
        );
        for command in ["sync", "diff"] {
            for extra in [&[][..], &["--json"][..], &["-v"][..]] {
                let mut args = vec![command, "-c", path.to_str().unwrap_or_default()];
                args.extend_from_slice(extra);
                let output = dbdelta(pair.dir.path(), &args);
                assert_error(&output, &needles);
                let all = format!(
                    "{}{}",
                    String::from_utf8_lossy(&output.stdout),
                    stderr(&output)
                );
                assert!(!all.contains("hunter2secret"), "password printed:\n{all}");
            }
        }
    }
    target_untouched(&pair).await;
}

#[tokio::test]
async fn refused_login_does_not_print_the_password() {
    let Some(pair) = Pair::new(Engine::MySql).await else {
        return;
    };
    let mut bad = url::Url::parse(&pair.target_url).expect("URL");
    bad.set_username("dbdelta_nobody").expect("user");
    bad.set_password(Some("hunter2secret")).expect("password");
    let path = write_job(
        &pair.dir.path().join("refused.toml"),
        &pair.source_url,
        bad.as_str(),
        "[[tables]]\nname = \"t\"\n",
    );
    let output = dbdelta(
        pair.dir.path(),
        &["sync", "-c", path.to_str().unwrap_or_default()],
    );
    assert_error(
        &output,
        &[
            "error: cannot connect to the target (mysql://dbdelta_nobody:***@",
            "Access denied",
        ],
    );
    assert!(
        !stderr(&output).contains("hunter2secret"),
        "{}",
        describe(&output)
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn command_line_mistakes_exit_2() {
    let dir = tempfile::tempdir().expect("temp dir");
    for args in [
        &["sync", "--jobs", "0"][..],
        &["frobnicate"][..],
        &["sync", "--chunk-size", "-5"][..],
        &["sync", "--defer-constraints", "--disable-integrity"][..],
        &["sync", "--source-connections", "0"][..],
        &["sync", "--log-format", "xml"][..],
    ] {
        let output = dbdelta(dir.path(), args);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            describe(&output)
        );
    }
    let output = dbdelta(dir.path(), &["sync"]);
    assert_error(
        &output,
        &["job file sync.toml not found: write one with `dbdelta init`"],
    );
}

#[tokio::test]
async fn check_connects_and_validates_without_writing() {
    let pair = sqlite_pair().await;
    let job = pair.job_file("[[tables]]\nname = \"good\"\n");
    let job = job.to_str().unwrap_or_default();
    let output = dbdelta(pair.dir.path(), &["check", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(stderr(&output).contains("ok: good: 2 columns compared, key (id), mode sync"));
    let output = dbdelta(pair.dir.path(), &["check", "-c", job, "good", "missing"]);
    assert_error(
        &output,
        &["ok: good", "table missing does not exist in the source"],
    );
    let output = dbdelta(
        pair.dir.path(),
        &["list", "-c", job, "good", "where id > 1"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("source where: id > 1"));
    target_untouched(&pair).await;
}

#[tokio::test]
async fn remote_targets_and_self_syncs_are_refused_before_connecting() {
    let pair = sqlite_pair().await;
    // `.invalid` never resolves: the guard must refuse before any connection is tried.
    let path = write_job(
        &pair.dir.path().join("remote-target.toml"),
        "sqlite://source.db",
        "postgres://app:hunter2secret@db.example.invalid/app",
        "[[tables]]\nname = \"good\"\n",
    );
    let job = path.to_str().unwrap_or_default();
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job]);
    assert_error(
        &output,
        &[
            "is not on this machine",
            "allow_remote = true",
            "--allow-remote",
        ],
    );
    assert!(
        !stderr(&output).contains("hunter2secret"),
        "{}",
        describe(&output)
    );
    let output = dbdelta(pair.dir.path(), &["sync", "--dry-run", "-c", job]);
    assert_error(&output, &["is not on this machine"]);

    let path = write_job(
        &pair.dir.path().join("self.toml"),
        "sqlite://source.db",
        "sqlite://./source.db",
        "[[tables]]\nname = \"good\"\n",
    );
    let output = dbdelta(
        pair.dir.path(),
        &["sync", "-c", path.to_str().unwrap_or_default()],
    );
    assert_error(
        &output,
        &["same database", "table good would be synced onto itself"],
    );
}

#[tokio::test]
async fn dry_run_lists_what_sync_would_write_and_writes_nothing() {
    let pair = sqlite_pair().await;
    pair.target
        .exec("INSERT INTO good VALUES (2, 'stale'), (3, 'extra')")
        .await;
    let job = pair.job_file("[[tables]]\nname = \"good\"\n");
    let job = job.to_str().unwrap_or_default();
    let output = dbdelta(pair.dir.path(), &["sync", "--dry-run", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let listing = String::from_utf8_lossy(&output.stdout);
    assert!(listing.contains("only in source (1): 1"), "{listing}");
    assert!(listing.contains("only in target (1): 3"), "{listing}");
    assert!(listing.contains("changed (1): 2"), "{listing}");
    assert!(
        stderr(&output).contains("Dry run: nothing was written"),
        "{}",
        describe(&output)
    );
    // With -v, the statements each chunk's transaction would run, with their parameters.
    let output = dbdelta(pair.dir.path(), &["sync", "--dry-run", "-v", "-c", job]);
    assert_eq!(output.status.code(), Some(0), "{}", describe(&output));
    let statements = stderr(&output);
    assert!(
        // SQLite keys are bound in their own storage class: the integer 3.
        statements.contains("would run: DELETE FROM \"good\"") && statements.contains("[3]"),
        "{statements}"
    );
    assert!(
        statements.contains("would run: INSERT INTO \"good\"") && statements.contains("\"a\""),
        "{statements}"
    );
    assert_eq!(
        pair.target.count("good").await,
        2,
        "the target is untouched"
    );
}

#[tokio::test]
async fn hostile_and_malformed_job_entries_are_named() {
    let pair = sqlite_pair().await;
    pair.exec_both("CREATE TABLE loose (id INTEGER, code TEXT UNIQUE, v TEXT NOT NULL)")
        .await;
    pair.source
        .exec("INSERT INTO loose VALUES (1, 'a', 'twice'), (2, 'b', 'twice')")
        .await;
    for (rest, needles) in [
        ("[[tables]]\nname = \"good\"\nmode = \"merge\"\n", vec!["line 7", "unknown variant `merge`"]),
        ("[[tables]]\nname = \"good\"\nchunk_size = \"big\"\n", vec!["line 7", "invalid type"]),
        ("[[tables]]\nname = 42\n", vec!["line 6", "invalid type"]),
        ("[[tables]]\nname = \"good\"\ncolumns = [\"nope\"]\n", vec!["column \"nope\" named in the job file does not exist"]),
        (
            "[[tables]]\nname = \"good\"\nquery = \"SELECT id, v FROM no_such_table\"\nkey = \"id\"\n",
            vec!["the query of table good fails on the source", "no_such_table"],
        ),
        ("[[tables]]\nname = \"good\"\nquery = \"SELECT 1\"\n", vec!["needs `key"]),
        ("[[tables]]\nname = \"loose\"\nkey = \"code\"\n", vec!["key column \"code\" allows NULL"]),
        ("[[tables]]\nname = \"loose\"\nkey = \"v\"\n", vec!["key (v) has no unique index in the source", "more than one row with the key \"twice\""]),
        (
            "[defaults]\ndefer_constraints = true\ndisable_integrity = true\n[[tables]]\nname = \"good\"\n",
            vec!["defer_constraints and disable_integrity exclude each other"],
        ),
    ] {
        let job = pair.job_file(rest);
        let output = dbdelta(pair.dir.path(), &["sync", "-c", job.to_str().unwrap_or_default()]);
        assert_error(&output, &needles);
    }
    target_untouched(&pair).await;
}

/// `check` runs each side's subset as `sync` would, so a `where` naming a missing column and a
/// `query` that does not run inside a `FROM` fail there; every table is checked and reported,
/// and the exit code says that some failed.
#[tokio::test]
async fn check_runs_every_subset_and_reports_every_table() {
    let pair = sqlite_pair().await;
    pair.exec_both(
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);
         CREATE TABLE totals (id INTEGER PRIMARY KEY, v TEXT);",
    )
    .await;
    let job = pair.job_file(
        "[[tables]]\nname = \"users\"\nwhere = \"idd < 5\"\n\
         [[tables]]\nname = \"good\"\n\
         [[tables]]\nname = \"totals\"\nquery = \"SELECT id, v FROM good;\"\nkey = \"id\"\n",
    );
    let job = job.to_str().unwrap_or_default();
    let output = dbdelta(pair.dir.path(), &["check", "-c", job]);
    assert_error(
        &output,
        &[
            "FAILED: users: the subset of table users fails on the source",
            "no such column: idd",
            "ok: good",
            "FAILED: totals: the subset of table totals fails on the source",
            "2 of 3 tables cannot be synced: users, totals",
        ],
    );
    // What check refuses, sync refuses too.
    let output = dbdelta(pair.dir.path(), &["sync", "-c", job, "users"]);
    assert_error(&output, &["no such column: idd"]);
    target_untouched(&pair).await;
}
