//! Forecast metrics for the backtest (issue 7): ROC-AUC, average precision, recall of the
//! top k % of cells, Brier score and reliability. Scores are ranked high to low; tied
//! scores are treated as one threshold (no arbitrary order inside a tie), except for the
//! top-k % recall, which needs a cut and breaks ties by the order given (cell order).

/// The positions of `scores` from the highest to the lowest score; equal scores keep the
/// given order. Rank once, then ask every metric of the `*_ranked` family.
pub fn order_desc(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    idx
}

/// The groups of tied scores along `order`, as inclusive position ranges.
fn tie_groups<'a>(
    scores: &'a [f64],
    order: &'a [usize],
) -> impl Iterator<Item = (usize, usize)> + 'a {
    let n = order.len();
    let mut i = 0;
    std::iter::from_fn(move || {
        if i >= n {
            return None;
        }
        let mut j = i;
        while j + 1 < n && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let group = (i, j);
        i = j + 1;
        Some(group)
    })
}

/// ROC-AUC: the probability that a random positive scores above a random negative, ties
/// counting one half (Mann–Whitney with mid-ranks). `None` without positives or without
/// negatives.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    roc_auc_ranked(scores, &order_desc(scores), positive)
}

/// [`roc_auc`] with the ranking given.
pub fn roc_auc_ranked(scores: &[f64], order: &[usize], positive: &[bool]) -> Option<f64> {
    let n = order.len();
    let pos = order.iter().filter(|k| positive[**k]).count();
    let neg = n - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    // Ascending mid-ranks (1-based) over ties, summed over the positives: positions i..=j
    // from the top are ascending ranks n − j .. n − i.
    let rank_sum: f64 = tie_groups(scores, order)
        .map(|(i, j)| {
            let mid = (2 * n - i - j) as f64 / 2.0;
            order[i..=j].iter().filter(|k| positive[**k]).count() as f64 * mid
        })
        .sum();
    let u = rank_sum - (pos * (pos + 1)) as f64 / 2.0;
    Some(u / (pos as f64 * neg as f64))
}

/// Average precision: Σ over thresholds (distinct scores, high to low) of
/// (recall gained) × precision at that threshold. `None` without positives.
pub fn average_precision(scores: &[f64], positive: &[bool]) -> Option<f64> {
    average_precision_ranked(scores, &order_desc(scores), positive)
}

/// [`average_precision`] with the ranking given.
pub fn average_precision_ranked(scores: &[f64], order: &[usize], positive: &[bool]) -> Option<f64> {
    let total = order.iter().filter(|k| positive[**k]).count();
    if total == 0 {
        return None;
    }
    let (mut tp, mut ap) = (0usize, 0.0);
    for (i, j) in tie_groups(scores, order) {
        let new_tp = order[i..=j].iter().filter(|k| positive[**k]).count();
        if new_tp > 0 {
            tp += new_tp;
            ap += (new_tp as f64 / total as f64) * (tp as f64 / (j + 1) as f64);
        }
    }
    Some(ap)
}

/// Share of the positives' weight (events, fatalities or people) found in the top
/// `share` of cells by score (⌈share × n⌉ cells; ties at the cut broken by the given
/// order). `None` when the weights sum to zero.
pub fn recall_at(scores: &[f64], weight: &[f64], share: f64) -> Option<f64> {
    recall_at_ranked(&order_desc(scores), weight, share)
}

/// [`recall_at`] with the ranking given.
pub fn recall_at_ranked(order: &[usize], weight: &[f64], share: f64) -> Option<f64> {
    let n = order.len();
    let total: f64 = order.iter().map(|i| weight[*i]).sum();
    if total <= 0.0 || n == 0 {
        return None;
    }
    let k = ((share * n as f64).ceil() as usize).clamp(0, n);
    let got: f64 = order[..k].iter().map(|i| weight[*i]).sum();
    Some(got / total)
}

/// Share of the positives' weight in the top cells by score that together hold `share` of
/// the population (cells taken in score order, ties by the given order, until their
/// residents reach `share` × all residents). `None` without weight or population.
pub fn recall_at_population(
    scores: &[f64],
    weight: &[f64],
    population: &[f64],
    share: f64,
) -> Option<f64> {
    recall_at_population_ranked(&order_desc(scores), weight, population, share)
}

/// [`recall_at_population`] with the ranking given.
pub fn recall_at_population_ranked(
    order: &[usize],
    weight: &[f64],
    population: &[f64],
    share: f64,
) -> Option<f64> {
    let total: f64 = order.iter().map(|i| weight[*i]).sum();
    let people: f64 = order.iter().map(|i| population[*i]).sum();
    if total <= 0.0 || people <= 0.0 {
        return None;
    }
    let (mut covered, mut got) = (0.0, 0.0);
    for &i in order {
        if covered >= share * people {
            break;
        }
        covered += population[i];
        got += weight[i];
    }
    Some(got / total)
}

/// The median of `values` (`None` when empty; the mean of the two middle values when even).
pub fn median(values: &[f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

/// Brier score of probabilities against outcomes. `None` when empty.
pub fn brier(prob: &[f64], positive: &[bool]) -> Option<f64> {
    let mut r = Reliability::new(&[]);
    for (p, y) in prob.iter().zip(positive) {
        r.add(*p, *y);
    }
    r.brier()
}

/// One bin of a reliability diagram.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ReliabilityBin {
    /// Lower edge of the predicted probability.
    pub from: f64,
    /// Upper edge.
    pub to: f64,
    /// Forecasts in the bin.
    pub count: usize,
    /// Their mean predicted probability.
    pub mean_predicted: f64,
    /// The share that happened.
    pub observed: f64,
}

/// Log-spaced bin edges for forecasts of rare events (a cell-month of civilian harm has a
/// base rate of 10⁻⁵–10⁻³ at H3 resolution 7, where equal-width bins would put nearly
/// everything in the first bin).
pub const RARE_EDGES: [f64; 14] = [
    0.0, 1e-6, 3e-6, 1e-5, 3e-5, 1e-4, 3e-4, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0,
];

/// Accumulates the Brier score and the reliability of probability forecasts, one forecast
/// at a time (a backtest has millions).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reliability {
    edges: Vec<f64>,
    count: Vec<usize>,
    sum: Vec<f64>,
    hits: Vec<usize>,
    n: usize,
    squared: f64,
}

impl Reliability {
    /// Bins between consecutive `edges` (ascending, from 0 to 1); with fewer than two
    /// edges only the Brier score is kept.
    pub fn new(edges: &[f64]) -> Self {
        let bins = edges.len().saturating_sub(1);
        Reliability {
            edges: edges.to_vec(),
            count: vec![0; bins],
            sum: vec![0.0; bins],
            hits: vec![0; bins],
            n: 0,
            squared: 0.0,
        }
    }

    /// Adds a forecast `p` and its outcome.
    pub fn add(&mut self, p: f64, happened: bool) {
        let y = f64::from(u8::from(happened));
        self.n += 1;
        self.squared += (p - y).powi(2);
        let bins = self.count.len();
        if bins == 0 {
            return;
        }
        // The bin whose upper edge is the first above p (the last bin includes 1).
        let b = self.edges[1..]
            .iter()
            .position(|e| p < *e)
            .unwrap_or(bins - 1);
        self.count[b] += 1;
        self.sum[b] += p;
        self.hits[b] += usize::from(happened);
    }

    /// Adds another accumulator with the same edges.
    pub fn merge(&mut self, other: &Reliability) {
        self.n += other.n;
        self.squared += other.squared;
        for b in 0..self.count.len().min(other.count.len()) {
            self.count[b] += other.count[b];
            self.sum[b] += other.sum[b];
            self.hits[b] += other.hits[b];
        }
    }

    /// Mean squared difference between forecast and outcome; `None` when empty.
    pub fn brier(&self) -> Option<f64> {
        (self.n > 0).then(|| self.squared / self.n as f64)
    }

    /// Mean forecast probability; `None` when empty (or without bins).
    pub fn mean_predicted(&self) -> Option<f64> {
        let n: usize = self.count.iter().sum();
        (n > 0).then(|| self.sum.iter().sum::<f64>() / n as f64)
    }

    /// Share of forecasts whose event happened; `None` when empty (or without bins).
    pub fn observed(&self) -> Option<f64> {
        let n: usize = self.count.iter().sum();
        (n > 0).then(|| self.hits.iter().sum::<usize>() as f64 / n as f64)
    }

    /// Forecasts added.
    pub fn len(&self) -> usize {
        self.n
    }

    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The non-empty bins.
    pub fn bins(&self) -> Vec<ReliabilityBin> {
        (0..self.count.len())
            .filter(|b| self.count[*b] > 0)
            .map(|b| ReliabilityBin {
                from: self.edges[b],
                to: self.edges[b + 1],
                count: self.count[b],
                mean_predicted: self.sum[b] / self.count[b] as f64,
                observed: self.hits[b] as f64 / self.count[b] as f64,
            })
            .collect()
    }
}

/// Reliability in `bins` equal-width bins of [0, 1] (empty bins left out).
pub fn reliability(prob: &[f64], positive: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let edges: Vec<f64> = (0..=bins).map(|b| b as f64 / bins as f64).collect();
    let mut r = Reliability::new(&edges);
    for (p, y) in prob.iter().zip(positive) {
        r.add(p.clamp(0.0, 1.0), *y);
    }
    r.bins()
}

/// One point of a precision–recall curve read at a rank cut-off.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PrPoint {
    /// Share of cells taken from the top.
    pub share: f64,
    /// Share of them followed by civilian harm.
    pub precision: f64,
    /// Share of the cells followed by civilian harm that they hold.
    pub recall: f64,
}

/// Shares of cells at which the precision–recall curve is read (log-spaced, 0.01 % to
/// 100 %): the curve at fixed rank cut-offs can be pooled over origins, unlike one at
/// score thresholds.
pub fn pr_cuts() -> Vec<f64> {
    (0..=32)
        .map(|i| 10f64.powf(-4.0 + f64::from(i) / 8.0))
        .collect()
}

/// Positives in the top ⌈share × n⌉ cells along `order`, for each share of `cuts`.
pub fn hits_at_ranked(order: &[usize], positive: &[bool], cuts: &[f64]) -> Vec<(f64, f64)> {
    let n = order.len();
    let mut prefix = Vec::with_capacity(n + 1);
    prefix.push(0usize);
    for i in order {
        prefix.push(prefix[prefix.len() - 1] + usize::from(positive[*i]));
    }
    cuts.iter()
        .map(|c| {
            let k = ((c * n as f64).ceil() as usize).min(n);
            (k as f64, prefix[k] as f64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-12)
    }

    #[test]
    fn auc_by_hand() {
        // Perfect, reversed, and one swap out of four pairs.
        assert!(close(
            roc_auc(&[0.9, 0.8, 0.1, 0.2], &[true, true, false, false]),
            1.0
        ));
        assert!(close(
            roc_auc(&[0.1, 0.2, 0.9, 0.8], &[true, true, false, false]),
            0.0
        ));
        assert!(close(
            roc_auc(&[0.9, 0.3, 0.4, 0.1], &[true, true, false, false]),
            0.75
        ));
        // Ties count a half: all equal → 0.5.
        assert!(close(roc_auc(&[0.5; 4], &[true, false, true, false]), 0.5));
        // A positive tied with one negative, above the other: (1 + 0.5) / 2.
        assert!(close(
            roc_auc(&[0.5, 0.5, 0.1], &[true, false, false]),
            0.75
        ));
        assert_eq!(roc_auc(&[0.1, 0.2], &[false, false]), None, "no positives");
        assert_eq!(roc_auc(&[0.1, 0.2], &[true, true]), None, "all positives");
    }

    #[test]
    fn average_precision_by_hand() {
        // Ranked: P N P N → precision 1 at the first hit, 2/3 at the second.
        let ap = average_precision(&[0.9, 0.8, 0.7, 0.6], &[true, false, true, false]);
        assert!(close(ap, 0.5 * 1.0 + 0.5 * (2.0 / 3.0)));
        // All tied: one threshold, precision = base rate 2/4.
        assert!(close(
            average_precision(&[0.3; 4], &[true, false, true, false]),
            0.5
        ));
        // A tie of a positive and a negative at the top: precision 1/2 there.
        let ap = average_precision(&[0.9, 0.9, 0.1], &[true, false, true]);
        assert!(close(ap, 0.5 * 0.5 + 0.5 * (2.0 / 3.0)));
        assert_eq!(average_precision(&[0.1], &[false]), None);
        assert!(
            close(average_precision(&[0.1, 0.2], &[true, true]), 1.0),
            "all positives"
        );
    }

    #[test]
    fn recall_of_the_top_cells() {
        let scores = [0.9, 0.1, 0.8, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        let events = [3.0, 1.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        // Top 10 % = 1 cell (3 of 5 events); top 20 % = 2 cells (still 3); 50 % = all 5.
        assert!(close(recall_at(&scores, &events, 0.10), 0.6));
        assert!(close(recall_at(&scores, &events, 0.20), 0.6));
        assert!(close(recall_at(&scores, &events, 0.50), 1.0));
        // 5 % of 10 cells rounds up to one cell.
        assert!(close(recall_at(&scores, &events, 0.05), 0.6));
        assert_eq!(recall_at(&scores, &[0.0; 10], 0.1), None, "no events");
        // Ties at the cut: the given order decides.
        assert!(close(recall_at(&[0.5, 0.5], &[0.0, 1.0], 0.5), 0.0));
    }

    #[test]
    fn population_weighted_recall_and_median() {
        // Cells by score: A (100 people, 2 events), B (900 people, 1), C (1000 people, 1).
        let scores = [0.9, 0.5, 0.1];
        let events = [2.0, 1.0, 1.0];
        let people = [100.0, 900.0, 1000.0];
        // 5 % of 2,000 people = 100: A alone → 2 of 4 events.
        assert!(close(
            recall_at_population(&scores, &events, &people, 0.05),
            0.5
        ));
        // 10 % = 200: A then B (1,000 people) → 3 of 4.
        assert!(close(
            recall_at_population(&scores, &events, &people, 0.10),
            0.75
        ));
        assert_eq!(recall_at_population(&scores, &events, &[0.0; 3], 0.1), None);
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn brier_and_reliability() {
        assert!(close(brier(&[1.0, 0.0], &[true, false]), 0.0));
        assert!(close(brier(&[0.5, 0.5], &[true, false]), 0.25));
        assert_eq!(brier(&[], &[]), None);
        let r = reliability(&[0.05, 0.15, 0.12, 0.95], &[false, true, false, true], 10);
        assert_eq!(r.len(), 3);
        assert_eq!((r[1].count, r[1].observed), (2, 0.5));
        assert!((r[1].mean_predicted - 0.135).abs() < 1e-12);
        assert_eq!(r[2].from, 0.9);
        // 1.0 falls in the last bin; the log-spaced bins of rare events.
        let mut acc = Reliability::new(&RARE_EDGES);
        for (p, y) in [(0.0005, false), (0.002, true), (0.002, false), (1.0, true)] {
            acc.add(p, y);
        }
        let bins = acc.bins();
        assert_eq!(bins.len(), 3);
        assert_eq!((bins[0].from, bins[0].to), (3e-4, 0.001));
        assert_eq!(
            (bins[1].from, bins[1].to, bins[1].observed),
            (0.001, 0.003, 0.5)
        );
        assert_eq!((bins[2].to, bins[2].count), (1.0, 1));
        let expected = (0.0005f64.powi(2) + 0.998f64.powi(2) + 0.002f64.powi(2)) / 4.0;
        assert!(close(acc.brier(), expected));
        let mut merged = Reliability::new(&RARE_EDGES);
        merged.merge(&acc);
        merged.merge(&acc);
        assert_eq!(merged.len(), 8);
        assert!(close(merged.brier(), expected));
        assert_eq!(merged.bins()[1].count, 4);
        assert!(close(merged.observed(), 0.5));
        assert!(close(merged.mean_predicted(), (0.0005 + 0.004 + 1.0) / 4.0));
    }

    #[test]
    fn hits_at_rank_cut_offs() {
        let scores = [0.9, 0.1, 0.8, 0.2];
        let positive = [true, false, false, true];
        let order = order_desc(&scores);
        // Top 25 % = 1 cell (1 hit), top 50 % = 2 (1), top 100 % = 4 (2); 1 % rounds up.
        assert_eq!(
            hits_at_ranked(&order, &positive, &[0.01, 0.25, 0.5, 1.0]),
            vec![(1.0, 1.0), (1.0, 1.0), (2.0, 1.0), (4.0, 2.0)]
        );
        let cuts = pr_cuts();
        assert_eq!(cuts.len(), 33);
        assert!((cuts[0] - 1e-4).abs() < 1e-15 && (cuts[32] - 1.0).abs() < 1e-12);
    }
}
