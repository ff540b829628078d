//! The command line as a pgsync user types it: a one-line run with `--from` and `--to` and no
//! job file (and without tables, every table), the mode words (`--preserve`, `--overwrite`,
//! `--truncate`, `--mode`), short flags, `diff` refusing what only `sync` takes, and help that
//! shows defaults and exit codes.

use crate::common::{dbdelta, describe, Engine, Pair};

/// A SQLite pair whose `items` differ in every way: a changed row, a row only in the source and
/// one only in the target.
async fn differing_pair() -> Pair {
    let pair = Pair::new(Engine::Sqlite).await.expect("SQLite is embedded");
    pair.exec_both("CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT)")
        .await;
    pair.source
        .exec("INSERT INTO items VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        .await;
    pair.target
        .exec("INSERT INTO items VALUES (1, 'a'), (2, 'old'), (4, 'extra')")
        .await;
    pair
}

async fn items(pair: &Pair) -> [Vec<Vec<Option<String>>>; 2] {
    let read = "SELECT CAST(id AS TEXT), v FROM items ORDER BY id";
    [pair.source.rows(read).await, pair.target.rows(read).await]
}

/// A row as the SQLite helper reads it back: each value tagged with its storage class.
fn row(id: &str, v: &str) -> Vec<Option<String>> {
    vec![Some(format!("t:{id}")), Some(format!("t:{v}"))]
}

#[tokio::test]
async fn a_one_line_run_needs_no_job_file() {
    let pair = differing_pair().await;
    let dir = pair.dir.path();
    assert!(!dir.join("sync.toml").exists());
    let line = ["--from", "sqlite://source.db", "--to", "sqlite://target.db"];
    let diff = dbdelta(dir, &[&["diff"][..], &line, &["items"]].concat());
    assert_eq!(diff.status.code(), Some(1), "{}", describe(&diff));
    let sync = dbdelta(dir, &[&["sync"][..], &line, &["items", "-j", "2"]].concat());
    assert_eq!(sync.status.code(), Some(0), "{}", describe(&sync));
    let [source, target] = items(&pair).await;
    assert_eq!(source, target);

    // Without tables, the run covers every table of the source, as pgsync's does.
    let every_table = dbdelta(dir, &[&["diff"][..], &line].concat());
    assert_eq!(
        every_table.status.code(),
        Some(0),
        "{}",
        describe(&every_table)
    );
    pair.cleanup().await;
}

#[tokio::test]
async fn the_pgsync_mode_words_choose_what_is_written() {
    let line = [
        "sync",
        "--from",
        "sqlite://source.db",
        "--to",
        "sqlite://target.db",
        "items",
    ];
    let cases: [(&str, Vec<Vec<Option<String>>>); 4] = [
        // Only the missing row arrives; the changed and the extra row stay.
        (
            "--preserve",
            vec![
                row("1", "a"),
                row("2", "old"),
                row("3", "c"),
                row("4", "extra"),
            ],
        ),
        (
            "--overwrite",
            vec![
                row("1", "a"),
                row("2", "b"),
                row("3", "c"),
                row("4", "extra"),
            ],
        ),
        (
            "--truncate",
            vec![row("1", "a"), row("2", "b"), row("3", "c")],
        ),
        (
            "--mode=insert-only",
            vec![
                row("1", "a"),
                row("2", "old"),
                row("3", "c"),
                row("4", "extra"),
            ],
        ),
    ];
    for (flag, expected) in cases {
        let pair = differing_pair().await;
        let output = dbdelta(pair.dir.path(), &[&line[..], &[flag]].concat());
        assert_eq!(
            output.status.code(),
            Some(0),
            "{flag}: {}",
            describe(&output)
        );
        let [_, target] = items(&pair).await;
        assert_eq!(target, expected, "{flag}");
        pair.cleanup().await;
    }
}

#[tokio::test]
async fn dry_run_has_a_short_flag_and_diff_refuses_what_only_sync_takes() {
    let pair = differing_pair().await;
    let dir = pair.dir.path();
    let line = [
        "--from",
        "sqlite://source.db",
        "--to",
        "sqlite://target.db",
        "items",
    ];
    let dry = dbdelta(dir, &[&["sync", "-n"][..], &line].concat());
    assert_eq!(dry.status.code(), Some(0), "{}", describe(&dry));
    let [source, target] = items(&pair).await;
    assert_ne!(source, target, "a dry run writes nothing");
    for flag in [
        "--dry-run",
        "--preserve",
        "--allow-remote",
        "--lock-timeout=5",
    ] {
        let output = dbdelta(dir, &[&["diff", flag][..], &line].concat());
        assert_eq!(
            output.status.code(),
            Some(2),
            "diff {flag}: {}",
            describe(&output)
        );
    }
    pair.cleanup().await;
}

#[tokio::test]
async fn help_shows_defaults_exit_codes_and_examples() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let help = dbdelta(dir.path(), &["sync", "--help"]);
    let text = String::from_utf8_lossy(&help.stdout);
    for needle in [
        "-j, --jobs",
        "[default: 4",
        "[default: 10000]",
        "[default: 60]",
        "-n, --dry-run",
        "--preserve",
        "Exit codes:",
        "Examples:",
    ] {
        assert!(
            text.contains(needle),
            "sync --help lacks {needle:?}:\n{text}"
        );
    }
    let diff_help = dbdelta(dir.path(), &["diff", "--help"]);
    let text = String::from_utf8_lossy(&diff_help.stdout);
    assert!(
        !text.contains("--dry-run") && text.contains("Exit codes:"),
        "{text}"
    );
}
