//! A shard of batch work: worker `index` of `count` (`--shard I/N`, or the environment of a
//! Kubernetes Indexed Job), which takes one contiguous block of the work's items.

/// Worker `index` (from 0) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This worker, 0-based.
    pub index: usize,
    /// Workers in all.
    pub count: usize,
}

/// The index of a pod of a Kubernetes Indexed Job (set by Kubernetes).
pub const INDEX_VAR: &str = "JOB_COMPLETION_INDEX";
/// The number of workers (set in the Job's spec, as its `completions`).
pub const COUNT_VAR: &str = "JOB_COMPLETIONS";

impl Shard {
    /// Parses `I/N` (0 ≤ I < N).
    pub fn parse(s: &str) -> Result<Self, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("`{s}`: expected I/N, e.g. 0/3 for the first of three"))?;
        let index: usize = i
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: the shard `{i}` is not a whole number"))?;
        let count: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{s}`: the count `{n}` is not a whole number"))?;
        Self::new(index, count).map_err(|e| format!("`{s}`: {e}"))
    }

    fn new(index: usize, count: usize) -> Result<Self, String> {
        if count == 0 {
            return Err("the count of shards must be 1 or more".into());
        }
        if index >= count {
            return Err(format!(
                "shard {index} does not exist among {count} (they are 0 to {})",
                count - 1
            ));
        }
        Ok(Self { index, count })
    }

    /// The shard of a Kubernetes Indexed Job: `JOB_COMPLETION_INDEX` of `JOB_COMPLETIONS`;
    /// `None` when `JOB_COMPLETION_INDEX` is not set.
    pub fn from_env() -> Result<Option<Self>, String> {
        Self::from_vars(
            std::env::var(INDEX_VAR).ok().as_deref(),
            std::env::var(COUNT_VAR).ok().as_deref(),
        )
    }

    fn from_vars(index: Option<&str>, count: Option<&str>) -> Result<Option<Self>, String> {
        let Some(index) = index else {
            return Ok(None);
        };
        let Some(count) = count else {
            return Err(format!(
                "{INDEX_VAR} is set ({index}) but {COUNT_VAR} is not: set it to the Job's completions"
            ));
        };
        Self::parse(&format!("{index}/{count}"))
            .map(Some)
            .map_err(|e| format!("{INDEX_VAR}/{COUNT_VAR}: {e}"))
    }

    /// This shard's block of `len` items: contiguous, the blocks of all shards in order
    /// cover `0..len` once, their lengths differ by one at most.
    pub fn block(&self, len: usize) -> std::ops::Range<usize> {
        (self.index * len / self.count)..((self.index + 1) * len / self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse("1/3"), Ok(Shard { index: 1, count: 3 }));
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2", "1/b"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Shard::from_vars(None, Some("3")), Ok(None));
        assert_eq!(
            Shard::from_vars(Some("2"), Some("3")),
            Ok(Some(Shard { index: 2, count: 3 }))
        );
        assert!(Shard::from_vars(Some("2"), None).is_err());
        assert!(Shard::from_vars(Some("3"), Some("3")).is_err());
    }

    proptest! {
        #[test]
        fn blocks_cover_every_item_once_in_order(len in 0usize..500, count in 1usize..40) {
            let mut next = 0;
            for index in 0..count {
                let b = Shard { index, count }.block(len);
                prop_assert_eq!(b.start, next);
                prop_assert!(b.len() <= len / count + 1 && b.len() >= len / count);
                next = b.end;
            }
            prop_assert_eq!(next, len);
        }
    }
}
