//! Median with min and max over repeated runs, shared by the benchmarks
//! (included with `#[path]`; not a bench target of its own).

#[derive(Clone, Copy, Debug)]
pub struct Stat {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Stat {
    pub fn of(samples: &[f64]) -> Stat {
        let mut v: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return Stat {
                median: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let median = if n % 2 == 1 {
            v[n / 2]
        } else {
            (v[n / 2 - 1] + v[n / 2]) / 2.0
        };
        Stat {
            median,
            min: v[0],
            max: v[n - 1],
        }
    }

    /// `median (min–max)` with `digits` decimals, or one value when all agree
    /// at that precision.
    pub fn fmt(&self, digits: usize) -> String {
        if self.median.is_nan() {
            return "n/a".into();
        }
        let (lo, hi) = (format!("{:.*}", digits, self.min), format!("{:.*}", digits, self.max));
        if lo == hi {
            format!("{:.*}", digits, self.median)
        } else {
            format!("{:.*} ({lo}–{hi})", digits, self.median)
        }
    }
}
