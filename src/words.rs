//! Counted nouns in human output: `1 row`, `2 rows`, never `1 rows`. Every noun dbdelta counts
//! (row, chunk, table, key, column, second) takes a plain `s` in the plural.

/// `n` and the noun, singular for exactly one.
pub fn counted(n: u64, noun: &str) -> String {
    format!("{n} {}", noun_for(n, noun))
}

/// The noun as it follows a count of `n` (`0 rows`, `1 row`), for phrases that put words between
/// the two (`1 of 3 chunks`, pluralized by the 3).
pub fn noun_for(n: u64, noun: &str) -> String {
    if n == 1 {
        noun.to_string()
    } else {
        format!("{noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_is_singular_and_every_other_count_plural() {
        assert_eq!(counted(1, "row"), "1 row");
        assert_eq!(counted(0, "row"), "0 rows");
        assert_eq!(counted(2, "chunk"), "2 chunks");
        assert_eq!(counted(11, "table"), "11 tables");
        assert_eq!(noun_for(1, "key"), "key");
        assert_eq!(noun_for(21, "key"), "keys");
    }
}
