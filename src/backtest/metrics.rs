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
    let n = prob.len().min(positive.len());
    (n > 0).then(|| {
        prob[..n]
            .iter()
            .zip(positive)
            .map(|(p, y)| (p - f64::from(u8::from(*y))).powi(2))
            .sum::<f64>()
            / n as f64
    })
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

/// Reliability in `bins` equal-width bins of [0, 1] (empty bins left out).
pub fn reliability(prob: &[f64], positive: &[bool], bins: usize) -> Vec<ReliabilityBin> {
    let bins = bins.max(1);
    let mut acc = vec![(0usize, 0.0f64, 0usize); bins];
    for (p, y) in prob.iter().zip(positive) {
        let b = ((p.clamp(0.0, 1.0) * bins as f64) as usize).min(bins - 1);
        acc[b].0 += 1;
        acc[b].1 += p;
        acc[b].2 += usize::from(*y);
    }
    acc.into_iter()
        .enumerate()
        .filter(|(_, a)| a.0 > 0)
        .map(|(b, (count, sum, hits))| ReliabilityBin {
            from: b as f64 / bins as f64,
            to: (b + 1) as f64 / bins as f64,
            count,
            mean_predicted: sum / count as f64,
            observed: hits as f64 / count as f64,
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
    }
}
