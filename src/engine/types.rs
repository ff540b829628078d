//! Declared column types: what a declaration allows (integer ranges, character limits, decimal
//! precision, fractional seconds), read the same way for every engine.

/// The value range of a declared integer type, where the engine enforces one.
pub fn integer_range(decl: &str) -> Option<(i128, i128)> {
    let unsigned = decl.contains("unsigned");
    let bits = if decl.starts_with("tinyint") {
        8
    } else if decl.starts_with("smallint") || decl == "int2" {
        16
    } else if decl.starts_with("mediumint") {
        24
    } else if decl.starts_with("int") || decl.starts_with("integer") {
        // SQLite's INTEGER is 64 bits and declares as "integer" too; its engine check is moot.
        if decl == "integer" && !unsigned {
            return None;
        }
        32
    } else {
        return None;
    };
    Some(if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    })
}

/// The narrowest standard SQL integer type (`smallint`, `integer`) holding every value of this
/// declaration, if one does; `None` for 64-bit and wider ranges, which each engine spells its
/// own way.
pub fn standard_integer(decl: &str) -> Option<&'static str> {
    match integer_range(decl)? {
        (min, max) if min >= -(1 << 15) && max < (1 << 15) => Some("smallint"),
        (min, max) if min >= -(1 << 31) && max < (1 << 31) => Some("integer"),
        _ => None,
    }
}

/// `varchar(16)`, `character varying(16)`, `char(4)` → the character limit.
pub fn length_limit(decl: &str) -> Option<usize> {
    let is_char = decl.starts_with("varchar")
        || decl.starts_with("character")
        || decl.starts_with("char(")
        || decl.starts_with("nvarchar");
    if !is_char {
        return None;
    }
    let inside = decl.split_once('(')?.1.split_once(')')?.0;
    inside.trim().parse().ok()
}

/// `numeric(12,2)`, `decimal(12,2) unsigned`, `decimal(5)` → (precision, scale).
pub fn precision_scale(decl: &str) -> Option<(usize, usize)> {
    if !(decl.starts_with("numeric") || decl.starts_with("decimal")) {
        return None;
    }
    let inside = decl.split_once('(')?.1.split_once(')')?.0;
    let mut parts = inside.split(',').map(|p| p.trim().parse::<usize>());
    let precision = parts.next()?.ok()?;
    let scale = parts.next().and_then(|s| s.ok()).unwrap_or(0);
    Some((precision, scale))
}

/// The fractional-second digits a time or timestamp declaration keeps: the declared precision
/// (`timestamp(3)`, `datetime(6)`, `time(0) without time zone`), else the engine's `default`.
/// `None` for other types.
pub fn declared_fraction_digits(decl: &str, default: usize) -> Option<usize> {
    let decl = decl.to_ascii_lowercase();
    let temporal = ["timestamp", "datetime", "time"]
        .iter()
        .any(|t| decl.starts_with(t));
    if !temporal {
        return None;
    }
    match decl.split_once('(') {
        Some((_, rest)) => rest.split_once(')')?.0.trim().parse().ok(),
        None => Some(default),
    }
}
