//! Backtests and calibrations split over the workers of an indexed job (`--shard I/N`).
//!
//! Worker I of N scores its contiguous block of each phase's origins (a backtest's tuning
//! window, then the origins after it; a calibration's one phase) and writes what they gave
//! into the store's work folder, `work/{backtest|calibrate}/{run}/`, where `run` names the
//! job: its options, N, the store's tables, snapshots, normalisation and calibration, the
//! configuration and Vigil's version. The results are put together from those parts, in
//! origin order, by the last worker to finish or by `--merge N`, as one process puts its
//! own parts together: the same sums in the same order, so the same bytes.
//!
//! A backtest's second phase needs the calibration fitted on every worker's tuning rows:
//! a worker that has written its own waits for the others' (twice as long as its own took,
//! and `--wait`, 30 s by default, at least), and scores whichever are still missing itself and writes
//! them (their content is the same whoever scores them), so that a job whose workers do not
//! all run at once still ends.

use super::observe::{outcome_events, Observer};
use super::parts::{Part, Plan};
use super::training::{calibration_of, calibration_origins, calibration_rows, CalibrationUsed};
use super::{Backtest, BacktestError, BacktestOptions};
use crate::config::Config;
use crate::model::digest::sha256_hex;
use crate::model::params::{Calibration, P};
use crate::model::progress::{Progress, Unit};
use crate::model::shard::Shard;
use crate::risk::calibration::TrainingSet;
use crate::store::Store;
use serde::Serialize;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

/// What one worker did.
#[derive(Debug, Clone)]
pub struct ShardOutcome<T> {
    /// The job's work folder (as named to users).
    pub work: String,
    /// The job's name in the store.
    pub run: String,
    /// Origins this worker scored.
    pub origins: usize,
    /// The parts not written yet when this worker ended (other workers').
    pub waiting_on: Vec<String>,
    /// The results, when this worker was the last and put them together.
    pub results: Option<T>,
}

const FIRST: &str = "first";
const SECOND: &str = "second";

/// What names a job: whatever changes its results.
#[derive(Serialize)]
struct RunBasis<'a, J: Serialize> {
    vigil: &'static str,
    job: &'a J,
    shards: usize,
    resolution: u8,
    tables: &'a std::collections::BTreeMap<String, crate::store::TableInfo>,
    snapshots: &'a std::collections::BTreeMap<String, crate::store::SnapshotInfo>,
    normalisation: &'a Option<crate::model::params::Normalisation>,
    calibration: &'a Option<Calibration>,
    config: &'a Config,
}

fn run_id<J: Serialize>(
    store: &Store,
    config: &Config,
    job: &J,
    shards: usize,
) -> Result<String, BacktestError> {
    let m = store.manifest();
    let basis = RunBasis {
        vigil: env!("CARGO_PKG_VERSION"),
        job,
        shards,
        resolution: m.resolution,
        tables: &m.tables,
        snapshots: &m.snapshots,
        normalisation: &m.normalisation,
        calibration: &m.calibration,
        config,
    };
    let bytes = serde_json::to_vec(&basis).map_err(|e| BacktestError::Part {
        what: "the job's name".into(),
        reason: e.to_string(),
    })?;
    Ok(sha256_hex(&bytes)[..16].to_owned())
}

/// The options of a backtest, as they name its job.
#[derive(Serialize)]
struct BacktestJob<'a> {
    kind: &'static str,
    from: i32,
    to: i32,
    step: u32,
    horizons: &'a [u32],
    tune_until: Option<i32>,
}

fn backtest_run(
    store: &Store,
    config: &Config,
    opts: &BacktestOptions,
    shards: usize,
) -> Result<String, BacktestError> {
    let job = BacktestJob {
        kind: "backtest",
        from: opts.from,
        to: opts.to,
        step: opts.step,
        horizons: &opts.horizons,
        tune_until: opts.tune_until,
    };
    Ok(format!("backtest/{}", run_id(store, config, &job, shards)?))
}

fn part_name(run: &str, phase: &str, index: usize, count: usize) -> String {
    format!("{run}/{phase}-{index}-of-{count}")
}

/// Writes a part: its training rows, then the rest (whose presence says the part is
/// complete).
fn write_part(store: &Store, name: &str, part: &Part) -> Result<(), BacktestError> {
    let rows = encode_rows(&part.training).map_err(|e| BacktestError::Part {
        what: store.work_name(&format!("{name}.rows")),
        reason: e.to_string(),
    })?;
    store.put_work(&format!("{name}.rows"), rows)?;
    let json = serde_json::to_vec(part).map_err(|e| BacktestError::Part {
        what: store.work_name(&format!("{name}.json")),
        reason: e.to_string(),
    })?;
    store.put_work(&format!("{name}.json"), json)?;
    Ok(())
}

fn has_part(store: &Store, name: &str) -> Result<bool, BacktestError> {
    Ok(store.get_work(&format!("{name}.json"))?.is_some())
}

/// Reads a part (its training rows only `with_rows`); `None` while it is not complete.
fn read_part(store: &Store, name: &str, with_rows: bool) -> Result<Option<Part>, BacktestError> {
    let Some(json) = store.get_work(&format!("{name}.json"))? else {
        return Ok(None);
    };
    let json_name = store.work_name(&format!("{name}.json"));
    let mut part: Part = serde_json::from_slice(&json).map_err(|e| BacktestError::Part {
        what: json_name,
        reason: e.to_string(),
    })?;
    if !with_rows {
        return Ok(Some(part));
    }
    let rows_name = store.work_name(&format!("{name}.rows"));
    let rows = store
        .get_work(&format!("{name}.rows"))?
        .ok_or_else(|| BacktestError::Part {
            what: rows_name.clone(),
            reason: "missing, though its part is written".into(),
        })?;
    part.training = decode_rows(&rows).map_err(|reason| BacktestError::Part {
        what: rows_name,
        reason,
    })?;
    Ok(Some(part))
}

/// The training rows of a part: a small binary layout (the rows are many and their
/// inputs exact `f32`s), deflated.
const ROWS_MAGIC: &[u8; 8] = b"VGLROWS1";

fn encode_rows(sets: &[TrainingSet]) -> std::io::Result<Vec<u8>> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(ROWS_MAGIC)?;
    z.write_all(&(P as u32).to_le_bytes())?;
    z.write_all(&(sets.len() as u32).to_le_bytes())?;
    let mut row = Vec::with_capacity(P * 4 + 13);
    for s in sets {
        z.write_all(&(s.len() as u64).to_le_bytes())?;
        for i in 0..s.len() {
            row.clear();
            for v in &s.x[i] {
                row.extend_from_slice(&v.to_le_bytes());
            }
            row.push(u8::from(s.y[i]));
            row.extend_from_slice(&s.w[i].to_le_bytes());
            row.extend_from_slice(&s.origin.get(i).copied().unwrap_or(i32::MIN).to_le_bytes());
            z.write_all(&row)?;
        }
    }
    z.finish()
}

fn decode_rows(bytes: &[u8]) -> Result<Vec<TrainingSet>, String> {
    let mut z = flate2::read::DeflateDecoder::new(bytes);
    let mut read = |buf: &mut [u8]| {
        z.read_exact(buf)
            .map_err(|e| format!("cut short or damaged ({e})"))
    };
    let mut magic = [0u8; 8];
    read(&mut magic)?;
    if &magic != ROWS_MAGIC {
        return Err("not a file of training rows".into());
    }
    let mut word = [0u8; 4];
    read(&mut word)?;
    if u32::from_le_bytes(word) as usize != P {
        return Err(format!(
            "rows of {} inputs, not {P}: written by another version of Vigil",
            u32::from_le_bytes(word)
        ));
    }
    read(&mut word)?;
    let sets = u32::from_le_bytes(word);
    if sets > 64 {
        return Err(format!("{sets} horizons: damaged"));
    }
    let mut out = Vec::new();
    let mut row = vec![0u8; P * 4 + 13];
    for _ in 0..sets {
        let mut n = [0u8; 8];
        read(&mut n)?;
        let mut set = TrainingSet::default();
        for _ in 0..u64::from_le_bytes(n) {
            read(&mut row)?;
            let mut x = [0f32; P];
            for (j, v) in x.iter_mut().enumerate() {
                let b = [row[4 * j], row[4 * j + 1], row[4 * j + 2], row[4 * j + 3]];
                *v = f32::from_le_bytes(b);
            }
            let y = row[P * 4] != 0;
            let mut w = [0u8; 8];
            w.copy_from_slice(&row[P * 4 + 1..P * 4 + 9]);
            let mut o = [0u8; 4];
            o.copy_from_slice(&row[P * 4 + 9..P * 4 + 13]);
            let origin = i32::from_le_bytes(o);
            if origin == i32::MIN {
                set.push(x, y, f64::from_le_bytes(w));
            } else {
                set.push_at(x, y, f64::from_le_bytes(w), origin);
            }
        }
        out.push(set);
    }
    Ok(out)
}

/// The rows of the parts, per horizon, in the parts' order.
fn concatenate(parts: impl IntoIterator<Item = Vec<TrainingSet>>) -> Vec<TrainingSet> {
    let mut out: Vec<TrainingSet> = Vec::new();
    for sets in parts {
        for (k, s) in sets.into_iter().enumerate() {
            if out.len() <= k {
                out.push(TrainingSet::default());
            }
            let t = &mut out[k];
            t.x.extend(s.x);
            t.y.extend(s.y);
            t.w.extend(s.w);
            t.origin.extend(s.origin);
        }
    }
    out
}

/// The parts of a job of `count` workers not written yet.
fn missing(
    store: &Store,
    run: &str,
    phases: &[&str],
    count: usize,
) -> Result<Vec<String>, BacktestError> {
    let mut out = Vec::new();
    for phase in phases {
        for i in 0..count {
            let name = part_name(run, phase, i, count);
            if !has_part(store, &name)? {
                out.push(name);
            }
        }
    }
    Ok(out)
}

/// Every part of a job, phase by phase and worker by worker: an error naming the ones
/// missing.
fn read_all(
    store: &Store,
    run: &str,
    phases: &[&str],
    count: usize,
    with_rows: bool,
) -> Result<Vec<Part>, BacktestError> {
    let mut parts = Vec::new();
    let mut absent = Vec::new();
    for phase in phases {
        for i in 0..count {
            let name = part_name(run, phase, i, count);
            match read_part(store, &name, with_rows)? {
                Some(p) => parts.push(p),
                None => absent.push(store.work_name(&format!("{name}.json"))),
            }
        }
    }
    if absent.is_empty() {
        Ok(parts)
    } else {
        Err(BacktestError::Incomplete { missing: absent })
    }
}

fn phases(plan: &Plan) -> Vec<&'static str> {
    if plan.second.is_empty() {
        vec![FIRST]
    } else {
        vec![FIRST, SECOND]
    }
}

/// One worker of a sharded backtest: scores its block of each phase, writes the parts,
/// and puts the results together when it is the last.
pub fn run_backtest_shard(
    store: &Store,
    config: &Config,
    opts: &BacktestOptions,
    shard: Shard,
    wait: Duration,
) -> Result<ShardOutcome<Backtest>, BacktestError> {
    let plan = Plan::new(opts, config)?;
    let run = backtest_run(store, config, opts, shard.count)?;
    let first = &plan.first[shard.block(plan.first.len())];
    let second = &plan.second[shard.block(plan.second.len())];
    tracing::info!(%shard, run = %store.work_name(&run), first = first.len(), second = second.len(), "backtest shard");
    // The engine over the whole range, as in one process: the same state at every origin.
    let mut obs = Observer::new(store, config, opts.from, opts.to, &opts.horizons)?;
    let bar = Progress::start(
        "backtest shard",
        Unit::Days,
        (first.len() + second.len()) as u64,
    );
    plan.prepare(&mut obs);
    let mut used = plan.stored_calibrations(store);
    let started = Instant::now();
    let mut own = plan.observe(&mut obs, first, &used, &bar, None)?;
    write_part(
        store,
        &part_name(&run, FIRST, shard.index, shard.count),
        &own,
    )?;
    if !plan.second.is_empty() {
        let part = if second.is_empty() {
            Part::default()
        } else {
            if plan.fits() {
                let training = tuning_rows(
                    store,
                    &plan,
                    &run,
                    shard,
                    &mut obs,
                    std::mem::take(&mut own.training),
                    (started.elapsed() * 2).max(wait),
                )?;
                used = plan.fit(&training);
                write_fit(store, &run, &used)?;
                plan.use_fit(&used, &mut obs);
            }
            plan.observe(&mut obs, second, &used, &bar, None)?
        };
        write_part(
            store,
            &part_name(&run, SECOND, shard.index, shard.count),
            &part,
        )?;
    }
    bar.finish();
    drop(own);
    let waiting_on = missing(store, &run, &phases(&plan), shard.count)?;
    let results = if waiting_on.is_empty() {
        tracing::info!(%shard, "the last worker: putting the results together");
        Some(put_together(store, &plan, &run, shard.count, &obs.ev)?)
    } else {
        None
    };
    Ok(ShardOutcome {
        work: store.work_name(&run),
        run,
        origins: first.len() + second.len(),
        waiting_on: waiting_on.iter().map(|n| store.work_name(n)).collect(),
        results,
    })
}

/// `--merge N`: the results of a backtest's N workers, from their parts.
pub fn merge_backtest(
    store: &Store,
    config: &Config,
    opts: &BacktestOptions,
    count: usize,
) -> Result<Backtest, BacktestError> {
    merge_count(count)?;
    let plan = Plan::new(opts, config)?;
    let run = backtest_run(store, config, opts, count)?;
    let ev = outcome_events(store, opts.from, opts.to, &opts.horizons)?;
    put_together(store, &plan, &run, count, &ev)
}

fn put_together(
    store: &Store,
    plan: &Plan,
    run: &str,
    count: usize,
    ev: &crate::risk::EventSet,
) -> Result<Backtest, BacktestError> {
    // The fit a worker stored is the one every worker made (the same rows, in the same
    // order); without it, the rows are read and fitted again.
    let stored = if plan.fits() {
        read_fit(store, run)?
    } else {
        None
    };
    let rows = plan.fits() && stored.is_none();
    let mut parts = read_all(store, run, &phases(plan), count, rows)?;
    let used = match stored {
        Some(used) => used,
        None if rows => {
            let training = concatenate(
                parts
                    .iter_mut()
                    .take(count)
                    .map(|p| std::mem::take(&mut p.training)),
            );
            plan.fit(&training)
        }
        None => plan.stored_calibrations(store),
    };
    Ok(plan.finish(ev, &parts, used))
}

const FIT: &str = "fit.json";

/// Stores the calibrations fitted on the tuning rows (the same in every worker).
fn write_fit(store: &Store, run: &str, used: &[CalibrationUsed]) -> Result<(), BacktestError> {
    let name = format!("{run}/{FIT}");
    let json = serde_json::to_vec(used).map_err(|e| BacktestError::Part {
        what: store.work_name(&name),
        reason: e.to_string(),
    })?;
    store.put_work(&name, json)?;
    Ok(())
}

fn read_fit(store: &Store, run: &str) -> Result<Option<Vec<CalibrationUsed>>, BacktestError> {
    let name = format!("{run}/{FIT}");
    let Some(bytes) = store.get_work(&name)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| BacktestError::Part {
            what: store.work_name(&name),
            reason: e.to_string(),
        })
}

/// Every worker's tuning rows, in worker order: this worker's, the others' as they are
/// written, and, past the wait, those still missing scored here.
fn tuning_rows(
    store: &Store,
    plan: &Plan,
    run: &str,
    shard: Shard,
    obs: &mut Observer,
    own: Vec<TrainingSet>,
    wait: Duration,
) -> Result<Vec<TrainingSet>, BacktestError> {
    let mut sets: Vec<Option<Vec<TrainingSet>>> = (0..shard.count).map(|_| None).collect();
    sets[shard.index] = Some(own);
    let deadline = Instant::now() + wait;
    let poll = Duration::from_millis(500);
    loop {
        for (j, slot) in sets.iter_mut().enumerate() {
            if slot.is_none() {
                if let Some(p) = read_part(store, &part_name(run, FIRST, j, shard.count), true)? {
                    *slot = Some(p.training);
                }
            }
        }
        if sets.iter().all(Option::is_some) {
            break;
        }
        if Instant::now() >= deadline {
            let used = plan.stored_calibrations(store);
            for (j, slot) in sets.iter_mut().enumerate() {
                if slot.is_some() {
                    continue;
                }
                let other = Shard {
                    index: j,
                    count: shard.count,
                };
                let days = &plan.first[other.block(plan.first.len())];
                tracing::warn!(%shard, of = %other, days = days.len(), "another worker's tuning rows did not come: scoring them here");
                let mut part = plan.observe(obs, days, &used, &Progress::hidden(), None)?;
                write_part(store, &part_name(run, FIRST, j, shard.count), &part)?;
                *slot = Some(std::mem::take(&mut part.training));
            }
            break;
        }
        std::thread::sleep(poll);
    }
    Ok(concatenate(sets.into_iter().flatten()))
}

/// The options of a calibration, as they name its job.
#[derive(Serialize)]
struct CalibrateJob {
    kind: &'static str,
    from: i32,
    to: i32,
    step: u32,
    horizon: u32,
}

fn calibrate_run(
    store: &Store,
    config: &Config,
    (from, to, step, horizon): (i32, i32, u32, u32),
    shards: usize,
) -> Result<String, BacktestError> {
    let job = CalibrateJob {
        kind: "calibrate",
        from,
        to,
        step,
        horizon,
    };
    Ok(format!(
        "calibrate/{}",
        run_id(store, config, &job, shards)?
    ))
}

/// `--merge N`: N is a count of workers.
fn merge_count(count: usize) -> Result<(), BacktestError> {
    if count == 0 {
        return Err(BacktestError::Options {
            parameter: "--merge",
            reason: "the count of workers must be 1 or more".into(),
        });
    }
    Ok(())
}

/// One worker of a sharded `vigil calibrate`: the training rows of its block of origins;
/// the last worker fits the calibration (the caller stores it).
pub fn run_calibrate_shard(
    store: &Store,
    config: &Config,
    (from, to, step, horizon): (i32, i32, u32, u32),
    shard: Shard,
) -> Result<ShardOutcome<Calibration>, BacktestError> {
    let origins = calibration_origins(from, to, step, horizon)?;
    let run = calibrate_run(store, config, (from, to, step, horizon), shard.count)?;
    let days = &origins[shard.block(origins.len())];
    let set = calibration_rows(store, config, &origins, days, horizon)?;
    let part = Part {
        training: vec![set],
        ..Part::default()
    };
    write_part(
        store,
        &part_name(&run, FIRST, shard.index, shard.count),
        &part,
    )?;
    let waiting_on = missing(store, &run, &[FIRST], shard.count)?;
    let results = if waiting_on.is_empty() {
        Some(fit_parts(
            store,
            &run,
            shard.count,
            &origins,
            step,
            horizon,
        )?)
    } else {
        None
    };
    Ok(ShardOutcome {
        work: store.work_name(&run),
        run,
        origins: days.len(),
        waiting_on: waiting_on.iter().map(|n| store.work_name(n)).collect(),
        results,
    })
}

/// `vigil calibrate --merge N`: the calibration fitted on the N workers' rows.
pub fn merge_calibrate(
    store: &Store,
    config: &Config,
    (from, to, step, horizon): (i32, i32, u32, u32),
    count: usize,
) -> Result<Calibration, BacktestError> {
    merge_count(count)?;
    let origins = calibration_origins(from, to, step, horizon)?;
    let run = calibrate_run(store, config, (from, to, step, horizon), count)?;
    fit_parts(store, &run, count, &origins, step, horizon)
}

fn fit_parts(
    store: &Store,
    run: &str,
    count: usize,
    origins: &[i32],
    step: u32,
    horizon: u32,
) -> Result<Calibration, BacktestError> {
    let parts = read_all(store, run, &[FIRST], count, true)?;
    let set = concatenate(parts.into_iter().map(|p| p.training))
        .into_iter()
        .next()
        .unwrap_or_default();
    calibration_of(&set, horizon, origins, step)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn training_rows_read_back_to_the_bit() {
        let mut a = TrainingSet::default();
        let mut x = [0f32; P];
        for (j, v) in x.iter_mut().enumerate() {
            *v = (j as f32).sqrt() * 1.000_001;
        }
        a.push_at(x, true, 1.0, 17_000);
        x[3] = f32::MIN_POSITIVE;
        a.push_at(x, false, 25.123_456_789_012_3, 17_007);
        let b = TrainingSet::default();
        let sets = vec![a, b];
        let bytes = encode_rows(&sets).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decode_rows(&bytes), Ok(sets));
    }

    #[test]
    fn damaged_rows_are_an_error_not_a_panic() {
        let mut a = TrainingSet::default();
        a.push_at([1.0; P], true, 1.0, 1);
        let bytes = encode_rows(&[a]).unwrap_or_else(|e| panic!("{e}"));
        // (The last byte or two of a deflate stream may end it without carrying data.)
        for cut in [0, 3, 10, bytes.len() / 2] {
            assert!(decode_rows(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode_rows(b"not deflate at all").is_err());
        let other = {
            let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
            z.write_all(b"VGLROWS1").unwrap_or_else(|e| panic!("{e}"));
            z.write_all(&7u32.to_le_bytes())
                .unwrap_or_else(|e| panic!("{e}"));
            z.finish().unwrap_or_else(|e| panic!("{e}"))
        };
        let err = decode_rows(&other).err().unwrap_or_default();
        assert!(err.contains("another version"), "{err}");
    }

    #[test]
    fn rows_are_concatenated_per_horizon_in_order() {
        let set = |d: i32| {
            let mut s = TrainingSet::default();
            s.push_at([d as f32; P], d % 2 == 0, 1.0, d);
            s
        };
        let all = concatenate([vec![set(1), set(10)], vec![set(2), set(20)]]);
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].origin, vec![1, 2]);
        assert_eq!(all[1].origin, vec![10, 20]);
    }
}
