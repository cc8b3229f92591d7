//! Header matching (SPEC §11: exact name, else case-insensitive).

/// Finds a column by API name: exact match first, then case-insensitive.
pub fn find(headers: &[String], name: &str) -> Option<usize> {
    headers.iter().position(|h| h == name).or_else(|| headers.iter().position(|h| h.trim().eq_ignore_ascii_case(name)))
}

/// Column positions of the fields of one input kind.
#[derive(Debug, Clone)]
pub struct ColumnMap<const N: usize> {
    pub idx: [Option<usize>; N],
}

impl<const N: usize> ColumnMap<N> {
    pub fn new(headers: &[String], names: [&str; N]) -> Self {
        ColumnMap { idx: names.map(|n| find(headers, n)) }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn exact_then_case_insensitive() {
        let h = vec!["ContactChannel".to_string(), "contactChannel".to_string(), "SSN".to_string()];
        assert_eq!(super::find(&h, "contactChannel"), Some(1));
        assert_eq!(super::find(&h, "ssn"), Some(2));
        assert_eq!(super::find(&h, "purpose"), None);
    }
}
