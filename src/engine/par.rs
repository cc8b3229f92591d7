//! Small helpers for parallel partitioning (radix-style scatters) shared by
//! the compact phone set and the history interner.

/// A raw pointer shared by parallel tasks that each write disjoint slots.
#[derive(Clone, Copy)]
pub struct SendPtr<T>(pub *mut T);
// SAFETY: only used where every task writes its own, disjoint index range.
unsafe impl<T> Send for SendPtr<T> {}
unsafe impl<T> Sync for SendPtr<T> {}

impl<T> SendPtr<T> {
    /// The pointer (a method, so closures capture the whole Send wrapper).
    pub fn ptr(self) -> *mut T {
        self.0
    }

    /// # Safety
    /// `i` must be in bounds and written by no other task.
    pub unsafe fn write(self, i: usize, v: T) {
        unsafe { *self.0.add(i) = v }
    }
}

/// From per-chunk partition histograms: the bounds of each partition in the
/// output, and for each chunk the first slot it writes in each partition.
pub fn scatter_plan(hists: &[Vec<u32>], parts: usize) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut bounds = vec![0usize; parts + 1];
    for p in 0..parts {
        bounds[p + 1] = bounds[p] + hists.iter().map(|h| h[p] as usize).sum::<usize>();
    }
    let mut starts = Vec::with_capacity(hists.len());
    let mut next = bounds.clone();
    for h in hists {
        starts.push(next[..parts].to_vec());
        for p in 0..parts {
            next[p] += h[p] as usize;
        }
    }
    (bounds, starts)
}

#[cfg(test)]
mod tests {
    #[test]
    fn plan_lays_chunks_out_partition_major() {
        let (bounds, starts) = super::scatter_plan(&[vec![2, 1], vec![1, 3]], 2);
        assert_eq!(bounds, vec![0, 3, 7]);
        assert_eq!(starts, vec![vec![0, 3], vec![2, 4]]);
    }
}
