//! Trigger grammar and evaluation.
//!
//! The grammar, evaluation order and reason string are the reference's, so trigger files and alert
//! texts carry over unchanged. Unlike the reference, a file with an invalid condition is refused as
//! a whole (it used to drop the condition with a warning, silently widening the trigger), and
//! `enabled = false` is honoured everywhere.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use thiserror::Error;

use super::windows::{Metric, WindowClass, WindowMetrics};

/// One `[[triggers]]` table of the trigger file, as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TriggerSpec {
    pub name: String,
    /// `"field op value"` strings, ANDed.
    pub conditions: Vec<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub description: Option<String>,
}

fn enabled_by_default() -> bool {
    true
}

/// The file: `triggers` is required so that an empty or mistyped file is refused rather than
/// silently disabling detection; `triggers = []` says "no triggers" on purpose.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TriggerFile {
    triggers: Vec<TriggerSpec>,
}

/// Parses and validates a TOML trigger file.
pub fn parse_triggers_toml(text: &str) -> Result<TriggerSet, TriggerError> {
    let file: TriggerFile = toml::from_str(text).map_err(|e| TriggerError::Toml(e.to_string()))?;
    TriggerSet::from_specs(&file.triggers)
}

/// Why a trigger file was refused.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum TriggerError {
    #[error("invalid trigger file: {0}")]
    Toml(String),
    #[error("trigger #{index} has an empty name")]
    EmptyName { index: usize },
    #[error("trigger {name:?} is defined twice")]
    DuplicateName { name: String },
    #[error("trigger {name:?} has no conditions")]
    NoConditions { name: String },
    #[error("trigger {name:?} condition {condition:?}: {problem}")]
    Condition {
        name: String,
        condition: String,
        problem: ConditionError,
    },
}

/// What is wrong with one condition string.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ConditionError {
    #[error("empty condition")]
    Empty,
    #[error("no comparison operator (expected one of >= <= == > <)")]
    NoOperator,
    #[error("missing metric name before {op}")]
    MissingMetric { op: &'static str },
    #[error("unknown metric {field} (did you mean {suggestion}?)")]
    UnknownMetric { field: String, suggestion: String },
    #[error("value {value:?} is not a number")]
    BadValue { value: String },
}

/// Comparison operators, in the order the grammar tries them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Ge,
    Le,
    Eq,
    Gt,
    Lt,
}

impl Op {
    /// The order matters: `>=` must be tried before `>`.
    pub const GRAMMAR_ORDER: [Op; 5] = [Op::Ge, Op::Le, Op::Eq, Op::Gt, Op::Lt];

    pub fn symbol(self) -> &'static str {
        match self {
            Op::Ge => ">=",
            Op::Le => "<=",
            Op::Eq => "==",
            Op::Gt => ">",
            Op::Lt => "<",
        }
    }

    /// IEEE comparison, as Python's float operators: anything against NaN is false.
    pub fn compare(self, actual: f64, threshold: f64) -> bool {
        match self {
            Op::Ge => actual >= threshold,
            Op::Le => actual <= threshold,
            Op::Eq => actual == threshold,
            Op::Gt => actual > threshold,
            Op::Lt => actual < threshold,
        }
    }
}

/// `metric op value`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub metric: Metric,
    pub op: Op,
    pub value: f64,
}

impl Condition {
    /// Parses one condition string with the reference's rules: a trailing `# comment` is
    /// dropped; the first operator (in [`Op::GRAMMAR_ORDER`]) that occurs and splits the text
    /// into exactly two parts wins; the value is a Python float literal.
    pub fn parse(text: &str) -> Result<Condition, ConditionError> {
        let text = text.split('#').next().unwrap_or_default().trim();
        if text.is_empty() {
            return Err(ConditionError::Empty);
        }
        for op in Op::GRAMMAR_ORDER {
            let parts: Vec<&str> = text.split(op.symbol()).collect();
            let [left, right] = parts[..] else {
                continue;
            };
            let field = left.trim();
            if field.is_empty() {
                return Err(ConditionError::MissingMetric { op: op.symbol() });
            }
            let metric = Metric::parse(field).ok_or_else(|| ConditionError::UnknownMetric {
                field: field.to_string(),
                suggestion: closest_metric(field),
            })?;
            let value = right.trim();
            let value = parse_py_float(value).ok_or_else(|| ConditionError::BadValue {
                value: value.to_string(),
            })?;
            return Ok(Condition { metric, op, value });
        }
        Err(ConditionError::NoOperator)
    }

    pub fn holds(&self, m: &WindowMetrics) -> bool {
        self.op.compare(m.get(self.metric), self.value)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.metric.name(),
            self.op.symbol(),
            py_float_repr(self.value)
        )
    }
}

/// A validated, enabled trigger.
#[derive(Debug, Clone, PartialEq)]
pub struct Trigger {
    pub name: String,
    /// One hour if any condition reads a 1h metric (the reference's classification).
    pub window: WindowClass,
    pub conditions: Vec<Condition>,
    /// The spec's description, or the reference's wording for its known trigger names.
    pub description: Option<String>,
}

impl Trigger {
    /// All conditions hold.
    pub fn matches(&self, m: &WindowMetrics) -> bool {
        self.conditions.iter().all(|c| c.holds(m))
    }

    /// Whether a condition reads a wallet metric (known only after the funding trace).
    pub fn needs_wallets(&self) -> bool {
        self.conditions
            .iter()
            .any(|c| c.metric.kind.needs_wallets())
    }

    /// Every condition that does not read a wallet metric holds: the candidate is worth tracing.
    pub fn matches_before_wallets(&self, m: &WindowMetrics) -> bool {
        self.conditions
            .iter()
            .all(|c| c.metric.kind.needs_wallets() || c.holds(m))
    }

    /// `Trigger: name | field=actual (op value) | …`, byte for byte as the reference writes it.
    pub fn reason(&self, m: &WindowMetrics) -> String {
        let mut out = format!("Trigger: {}", self.name);
        for c in &self.conditions {
            out.push_str(&format!(
                " | {}={} ({} {})",
                c.metric.name(),
                py_fixed(m.get(c.metric), 2),
                c.op.symbol(),
                py_float_repr(c.value)
            ));
        }
        out
    }

    /// The conditions that can be checked without the window's detail read all hold.
    fn may_match(&self, m: &WindowMetrics) -> bool {
        self.conditions
            .iter()
            .filter(|c| !c.metric.kind.needs_detail())
            .all(|c| c.holds(m))
    }
}

/// The enabled triggers, in evaluation order: every 5m trigger in file order, then every 1h one.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TriggerSet {
    triggers: Vec<Trigger>,
}

impl TriggerSet {
    /// Validates every spec (disabled ones too, so enabling one later cannot fail) and keeps the
    /// enabled ones.
    pub fn from_specs(specs: &[TriggerSpec]) -> Result<Self, TriggerError> {
        let mut names = HashSet::new();
        let mut five_minutes = Vec::new();
        let mut one_hour = Vec::new();
        for (index, spec) in specs.iter().enumerate() {
            let trigger = build_trigger(index, spec)?;
            if !names.insert(spec.name.as_str()) {
                return Err(TriggerError::DuplicateName {
                    name: spec.name.clone(),
                });
            }
            if !spec.enabled {
                continue;
            }
            match trigger.window {
                WindowClass::FiveMinutes => five_minutes.push(trigger),
                WindowClass::OneHour => one_hour.push(trigger),
            }
        }
        five_minutes.extend(one_hour);
        Ok(TriggerSet {
            triggers: five_minutes,
        })
    }

    /// The six default triggers of the reference, in its order.
    pub fn defaults() -> Self {
        TriggerSet::from_specs(&TriggerSet::default_specs())
            .expect("the default triggers are valid (tested)")
    }

    pub fn default_specs() -> Vec<TriggerSpec> {
        DEFAULT_TRIGGERS
            .iter()
            .map(|(name, conditions)| TriggerSpec {
                name: (*name).to_string(),
                conditions: conditions.iter().map(|c| (*c).to_string()).collect(),
                enabled: true,
                description: known_description(name).map(str::to_string),
            })
            .collect()
    }

    pub fn len(&self) -> usize {
        self.triggers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.triggers.is_empty()
    }

    /// In evaluation order.
    pub fn iter(&self) -> std::slice::Iter<'_, Trigger> {
        self.triggers.iter()
    }

    pub fn get(&self, name: &str) -> Option<&Trigger> {
        self.triggers.iter().find(|t| t.name == name)
    }

    /// The first trigger in evaluation order that matches and is not skipped (the caller skips
    /// triggers in cooldown for the mint).
    pub fn first_match<'a>(
        &'a self,
        m: &WindowMetrics,
        skip: impl Fn(&Trigger) -> bool,
    ) -> Option<&'a Trigger> {
        self.triggers.iter().find(|t| !skip(t) && t.matches(m))
    }

    /// Cheap pre-check: false only if no trigger can match whatever the detail metrics are, so
    /// the detector can skip the expensive part of a window read.
    pub fn may_fire(&self, m: &WindowMetrics) -> bool {
        self.triggers.iter().any(|t| t.may_match(m))
    }
}

impl<'a> IntoIterator for &'a TriggerSet {
    type Item = &'a Trigger;
    type IntoIter = std::slice::Iter<'a, Trigger>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

fn build_trigger(index: usize, spec: &TriggerSpec) -> Result<Trigger, TriggerError> {
    if spec.name.trim().is_empty() {
        return Err(TriggerError::EmptyName { index });
    }
    if spec.conditions.is_empty() {
        return Err(TriggerError::NoConditions {
            name: spec.name.clone(),
        });
    }
    let conditions = spec
        .conditions
        .iter()
        .map(|text| {
            Condition::parse(text).map_err(|problem| TriggerError::Condition {
                name: spec.name.clone(),
                condition: text.clone(),
                problem,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let window = if conditions
        .iter()
        .any(|c| c.metric.window == WindowClass::OneHour)
    {
        WindowClass::OneHour
    } else {
        WindowClass::FiveMinutes
    };
    Ok(Trigger {
        name: spec.name.clone(),
        window,
        conditions,
        description: spec
            .description
            .clone()
            .or_else(|| known_description(&spec.name).map(str::to_string)),
    })
}

/// The reference's `config/thresholds.yaml` (§1.3).
const DEFAULT_TRIGGERS: [(&str, &[&str]); 6] = [
    (
        "concentrated_accumulation",
        &[
            "buy_count_5m >= 20",
            "unique_buyers_5m <= 5",
            "buy_volume_sol_5m >= 5",
        ],
    ),
    (
        "stealth_accumulation",
        &[
            "buy_volume_sol_5m >= 10",
            "avg_buy_size_5m < 0.3",
            "buy_count_5m >= 15",
        ],
    ),
    (
        "extreme_ratio",
        &[
            "buy_sell_ratio_5m > 10",
            "buy_volume_sol_5m >= 10",
            "buy_count_5m >= 10",
            "unique_buyers_5m >= 3",
        ],
    ),
    (
        "whale_concentration",
        &[
            "top_3_buyers_volume_share_5m >= 0.8",
            "buy_volume_sol_5m >= 10",
            "buy_count_5m >= 10",
        ],
    ),
    (
        "slow_stealth_accumulation",
        &[
            "buy_volume_sol_1h >= 50",
            "unique_buyers_1h <= 10",
            "avg_buy_size_1h < 1.0",
        ],
    ),
    (
        "slow_concentration",
        &[
            "top_3_buyers_volume_share_1h >= 0.5",
            "buy_count_1h >= 30",
            "buy_volume_sol_1h >= 20",
        ],
    ),
];

/// The alert formatter's wording for the reference's trigger names (including its two disabled
/// ones), so a file that reuses a name without a description reads as before.
pub fn known_description(name: &str) -> Option<&'static str> {
    Some(match name {
        "concentrated_accumulation" => "Few wallets accumulating aggressively",
        "stealth_accumulation" => "Many small buys (avoiding detection)",
        "extreme_ratio" => "Heavy buying, almost no selling",
        "sybil_pattern" => "Suspicious new wallet activity",
        "whale_concentration" => "Top buyers hold majority",
        "slow_stealth_accumulation" => "Prolonged quiet accumulation",
        "slow_concentration" => "Gradual concentration over time",
        "gradual_accumulation" => "Steady buy pressure building",
        _ => return None,
    })
}

/// Python's `float(text)` for ordinary literals: decimal and exponent forms, a sign,
/// `inf`/`infinity`/`nan` in any case, and `_` between digits.
pub fn parse_py_float(text: &str) -> Option<f64> {
    let text = text.trim();
    if text.contains('_') {
        let bytes = text.as_bytes();
        let between_digits = bytes.iter().enumerate().all(|(i, &b)| {
            b != b'_'
                || (i > 0
                    && bytes[i - 1].is_ascii_digit()
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        });
        if !between_digits {
            return None;
        }
        return text.replace('_', "").parse().ok();
    }
    text.parse().ok()
}

/// Python's `repr(float)`: the shortest round-trip digits, in positional notation when the
/// decimal exponent is in [-4, 16), else scientific with a signed two-digit exponent.
pub fn py_float_repr(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "inf" } else { "-inf" }.into();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    if v == 0.0 {
        return format!("{sign}0.0");
    }
    // `{:e}` gives the same shortest digits Python uses, e.g. "1.2345e-5".
    let sci = format!("{:e}", v.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let point = exponent + 1; // digits are 0.d1d2… × 10^point
    if !(-4 < point && point <= 16) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{exp_sign}{:02}", exponent.abs());
    }
    if point <= 0 {
        return format!(
            "{sign}0.{}{digits}",
            "0".repeat(point.unsigned_abs() as usize)
        );
    }
    let point = point as usize;
    if point < digits.len() {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    } else {
        format!("{sign}{digits}{}.0", "0".repeat(point - digits.len()))
    }
}

/// Python's `format(v, ".{precision}f")`. Rust rounds the exact binary value half-to-even like
/// Python; only NaN is spelled differently.
pub fn py_fixed(v: f64, precision: usize) -> String {
    if v.is_nan() {
        "nan".into()
    } else {
        format!("{v:.precision$}")
    }
}

/// The grammar name closest to a mistyped one: longest common subsequence relative to both
/// lengths (so `top3_share_5m` finds `top_3_buyers_volume_share_5m`), first of equals.
fn closest_metric(field: &str) -> String {
    let field = field.to_ascii_lowercase();
    let mut best = (0.0, String::new());
    for name in Metric::all().chain(Metric::wallet()).map(Metric::name) {
        let common = lcs_len(field.as_bytes(), name.as_bytes());
        let similarity = 2.0 * common as f64 / (field.len() + name.len()) as f64;
        if best.1.is_empty() || similarity > best.0 {
            best = (similarity, name);
        }
    }
    best.1
}

fn lcs_len(a: &[u8], b: &[u8]) -> usize {
    let mut row = vec![0usize; b.len() + 1];
    for &x in a {
        let mut diagonal = 0;
        for (j, &y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::windows::{MetricKind, WindowValues};

    fn spec(name: &str, conditions: &[&str]) -> TriggerSpec {
        TriggerSpec {
            name: name.into(),
            conditions: conditions.iter().map(|c| (*c).to_string()).collect(),
            enabled: true,
            description: None,
        }
    }

    fn set(specs: &[TriggerSpec]) -> TriggerSet {
        TriggerSet::from_specs(specs).unwrap()
    }

    fn metrics(values: &[(&str, f64)]) -> WindowMetrics {
        let mut m = WindowMetrics::default();
        for (name, v) in values {
            let metric = Metric::parse(name).unwrap();
            let w = match metric.window {
                WindowClass::FiveMinutes => &mut m.five_minutes,
                WindowClass::OneHour => &mut m.one_hour,
            };
            *field_mut(w, metric.kind) = *v;
        }
        m
    }

    fn field_mut(w: &mut WindowValues, kind: MetricKind) -> &mut f64 {
        match kind {
            MetricKind::BuyCount => &mut w.buy_count,
            MetricKind::SellCount => &mut w.sell_count,
            MetricKind::UniqueBuyers => &mut w.unique_buyers,
            MetricKind::UniqueSellers => &mut w.unique_sellers,
            MetricKind::BuyVolumeSol => &mut w.buy_volume_sol,
            MetricKind::AvgBuySize => &mut w.avg_buy_size,
            MetricKind::BuySellRatio => &mut w.buy_sell_ratio,
            MetricKind::Top3BuyersVolumeShare => &mut w.top_3_buyers_volume_share,
            MetricKind::NewWalletPct => &mut w.new_wallet_pct,
            MetricKind::LargestClusterShare | MetricKind::FundedBySameSourcePct => {
                unreachable!("these tests set only the 18 window metrics")
            }
        }
    }

    fn cond(text: &str) -> Condition {
        Condition::parse(text).unwrap()
    }

    fn rejection(specs: &[TriggerSpec]) -> String {
        TriggerSet::from_specs(specs).unwrap_err().to_string()
    }

    #[test]
    fn python_float_repr_table() {
        // Computed with Python 3.11: `repr(x)`.
        let table: &[(f64, &str)] = &[
            (20.0, "20.0"),
            (0.3, "0.3"),
            (1e3, "1000.0"),
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
            (0.0001, "0.0001"),
            (1e15, "1000000000000000.0"),
            (9999999999999998.0, "9999999999999998.0"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1.0 / 3.0, "0.3333333333333333"),
            (2.0 / 3.0, "0.6666666666666666"),
            (-5.0, "-5.0"),
            (-0.0, "-0.0"),
            (0.0, "0.0"),
            (1e22, "1e+22"),
            (1.5e16, "1.5e+16"),
            (1e-7, "1e-07"),
            (5e-324, "5e-324"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (-1e-05, "-1e-05"),
            (0.5, "0.5"),
            (100.0, "100.0"),
            (12345.678, "12345.678"),
            (1e100, "1e+100"),
            (2.5e-4, "0.00025"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (v, want) in table {
            assert_eq!(py_float_repr(*v), *want, "repr({v:e})");
        }
    }

    #[test]
    fn python_fixed_two_places() {
        // Python: f"{x:.2f}" — ties go to even on the exact binary value.
        let table: &[(f64, &str)] = &[
            (25.0, "25.00"),
            (12.5, "12.50"),
            (0.125, "0.12"),
            (0.375, "0.38"),
            (2.675, "2.67"),
            (1.005, "1.00"),
            (-0.0, "-0.00"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for (v, want) in table {
            assert_eq!(py_fixed(*v, 2), *want, "{v}");
        }
    }

    #[test]
    fn python_float_literals_parse_like_float() {
        // Python: float(s)
        let ok: &[(&str, f64)] = &[
            ("20", 20.0),
            ("0.3", 0.3),
            ("1e3", 1000.0),
            ("1E3", 1000.0),
            ("-5", -5.0),
            ("+5", 5.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1.e5", 100000.0),
            ("1e+3", 1000.0),
            ("1_000", 1000.0),
            ("1e1_0", 1e10),
            ("1_0.5", 10.5),
            ("inf", f64::INFINITY),
            ("+inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("INF", f64::INFINITY),
            ("Infinity", f64::INFINITY),
            ("-infinity", f64::NEG_INFINITY),
        ];
        for (s, want) in ok {
            assert_eq!(parse_py_float(s), Some(*want), "{s}");
        }
        for s in ["nan", "NaN", "+nan", "-nan"] {
            assert!(parse_py_float(s).unwrap().is_nan(), "{s}");
        }
        for s in [
            "", "abc", "0x10", "1e", "infinit", "in", "1__0", "_1", "1_", "1_e5", "1._5", "1_.5",
            "5 5", "twenty",
        ] {
            assert_eq!(parse_py_float(s), None, "{s:?} must be rejected");
        }
    }

    #[test]
    fn verified_reason_string_of_the_reference() {
        let t = TriggerSet::defaults();
        let t = t.get("concentrated_accumulation").unwrap();
        let m = metrics(&[
            ("buy_count_5m", 25.0),
            ("unique_buyers_5m", 4.0),
            ("buy_volume_sol_5m", 12.5),
        ]);
        assert!(t.matches(&m));
        assert_eq!(
            t.reason(&m),
            "Trigger: concentrated_accumulation | buy_count_5m=25.00 (>= 20.0) | \
             unique_buyers_5m=4.00 (<= 5.0) | buy_volume_sol_5m=12.50 (>= 5.0)"
        );
    }

    #[test]
    fn reason_prints_infinities_and_python_values() {
        let t = set(&[spec(
            "r",
            &[
                "buy_sell_ratio_5m > 1e16",
                "sell_count_5m == 0",
                "avg_buy_size_5m < 1e-5",
            ],
        )]);
        let t = t.iter().next().unwrap();
        let m = metrics(&[("buy_sell_ratio_5m", f64::INFINITY)]);
        assert!(t.matches(&m));
        assert_eq!(
            t.reason(&m),
            "Trigger: r | buy_sell_ratio_5m=inf (> 1e+16) | sell_count_5m=0.00 (== 0.0) | \
             avg_buy_size_5m=0.00 (< 1e-05)"
        );
        let nan = metrics(&[("buy_sell_ratio_5m", f64::NAN)]);
        assert!(t.reason(&nan).contains("buy_sell_ratio_5m=nan (> 1e+16)"));
    }

    #[test]
    fn the_six_default_triggers_in_order_with_descriptions() {
        let specs = TriggerSet::default_specs();
        let got: Vec<(&str, Vec<&str>, Option<&str>)> = specs
            .iter()
            .map(|s| {
                assert!(s.enabled);
                (
                    s.name.as_str(),
                    s.conditions.iter().map(String::as_str).collect(),
                    s.description.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    "concentrated_accumulation",
                    vec![
                        "buy_count_5m >= 20",
                        "unique_buyers_5m <= 5",
                        "buy_volume_sol_5m >= 5"
                    ],
                    Some("Few wallets accumulating aggressively")
                ),
                (
                    "stealth_accumulation",
                    vec![
                        "buy_volume_sol_5m >= 10",
                        "avg_buy_size_5m < 0.3",
                        "buy_count_5m >= 15"
                    ],
                    Some("Many small buys (avoiding detection)")
                ),
                (
                    "extreme_ratio",
                    vec![
                        "buy_sell_ratio_5m > 10",
                        "buy_volume_sol_5m >= 10",
                        "buy_count_5m >= 10",
                        "unique_buyers_5m >= 3"
                    ],
                    Some("Heavy buying, almost no selling")
                ),
                (
                    "whale_concentration",
                    vec![
                        "top_3_buyers_volume_share_5m >= 0.8",
                        "buy_volume_sol_5m >= 10",
                        "buy_count_5m >= 10"
                    ],
                    Some("Top buyers hold majority")
                ),
                (
                    "slow_stealth_accumulation",
                    vec![
                        "buy_volume_sol_1h >= 50",
                        "unique_buyers_1h <= 10",
                        "avg_buy_size_1h < 1.0"
                    ],
                    Some("Prolonged quiet accumulation")
                ),
                (
                    "slow_concentration",
                    vec![
                        "top_3_buyers_volume_share_1h >= 0.5",
                        "buy_count_1h >= 30",
                        "buy_volume_sol_1h >= 20"
                    ],
                    Some("Gradual concentration over time")
                ),
            ]
        );
        let set = TriggerSet::defaults();
        assert_eq!(set.len(), 6);
        assert!(!set.is_empty());
        let windows: Vec<_> = set.iter().map(|t| (t.name.as_str(), t.window)).collect();
        assert_eq!(
            windows[3],
            ("whale_concentration", WindowClass::FiveMinutes)
        );
        assert_eq!(
            windows[4],
            ("slow_stealth_accumulation", WindowClass::OneHour)
        );
        assert_eq!(windows[5], ("slow_concentration", WindowClass::OneHour));
        let whale = set.get("whale_concentration").unwrap();
        assert_eq!(
            whale.conditions[0],
            Condition {
                metric: Metric::parse("top_3_buyers_volume_share_5m").unwrap(),
                op: Op::Ge,
                value: 0.8
            }
        );
    }

    #[test]
    fn each_default_trigger_fires_on_its_pattern() {
        let set = TriggerSet::defaults();
        let cases = [
            (
                "concentrated_accumulation",
                metrics(&[
                    ("buy_count_5m", 20.0),
                    ("unique_buyers_5m", 5.0),
                    ("buy_volume_sol_5m", 5.0),
                ]),
            ),
            (
                "stealth_accumulation",
                metrics(&[
                    ("buy_count_5m", 40.0),
                    ("unique_buyers_5m", 30.0),
                    ("buy_volume_sol_5m", 10.0),
                    ("avg_buy_size_5m", 0.25),
                ]),
            ),
            (
                "extreme_ratio",
                metrics(&[
                    ("buy_count_5m", 12.0),
                    ("unique_buyers_5m", 8.0),
                    ("buy_volume_sol_5m", 12.0),
                    ("avg_buy_size_5m", 1.0),
                    ("buy_sell_ratio_5m", f64::INFINITY),
                ]),
            ),
            (
                "whale_concentration",
                metrics(&[
                    ("buy_count_5m", 12.0),
                    ("unique_buyers_5m", 8.0),
                    ("buy_volume_sol_5m", 12.0),
                    ("avg_buy_size_5m", 1.0),
                    ("buy_sell_ratio_5m", 2.0),
                    ("top_3_buyers_volume_share_5m", 0.8),
                ]),
            ),
            (
                "slow_stealth_accumulation",
                metrics(&[
                    ("buy_volume_sol_1h", 50.0),
                    ("unique_buyers_1h", 10.0),
                    ("avg_buy_size_1h", 0.9),
                ]),
            ),
            (
                "slow_concentration",
                metrics(&[
                    ("buy_volume_sol_1h", 20.0),
                    ("buy_count_1h", 30.0),
                    ("avg_buy_size_1h", 0.7),
                    ("top_3_buyers_volume_share_1h", 0.5),
                ]),
            ),
        ];
        for (name, m) in &cases {
            let fired = set.first_match(m, |_| false).map(|t| t.name.as_str());
            assert_eq!(fired, Some(*name));
        }
        assert_eq!(set.first_match(&WindowMetrics::default(), |_| false), None);
    }

    #[test]
    fn five_minute_triggers_come_first_whatever_the_file_order() {
        let s = set(&[
            spec("hour", &["buy_count_1h >= 1"]),
            spec("mixed", &["buy_count_5m >= 1", "sell_count_1h >= 0"]),
            spec("five_a", &["buy_count_5m >= 1"]),
            spec("five_b", &["buy_count_5m >= 1"]),
        ]);
        let order: Vec<_> = s.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(order, ["five_a", "five_b", "hour", "mixed"]);
        let names: Vec<_> = (&s).into_iter().map(|t| t.window).collect();
        assert_eq!(
            names,
            [
                WindowClass::FiveMinutes,
                WindowClass::FiveMinutes,
                WindowClass::OneHour,
                WindowClass::OneHour
            ]
        );
        let m = metrics(&[("buy_count_5m", 1.0), ("buy_count_1h", 1.0)]);
        assert_eq!(s.first_match(&m, |_| false).unwrap().name, "five_a");
        assert_eq!(
            s.first_match(&m, |t| t.name.starts_with("five"))
                .unwrap()
                .name,
            "hour",
            "skipped triggers (cooldown) let the next match win"
        );
        assert_eq!(s.first_match(&m, |_| true), None);
        let only_hour = metrics(&[("buy_count_1h", 1.0)]);
        assert_eq!(s.first_match(&only_hour, |_| false).unwrap().name, "hour");
    }

    #[test]
    fn all_conditions_must_hold() {
        let s = set(&[spec("t", &["buy_count_5m >= 10", "sell_count_5m < 2"])]);
        let t = s.iter().next().unwrap();
        assert!(t.matches(&metrics(&[("buy_count_5m", 10.0), ("sell_count_5m", 1.0)])));
        assert!(!t.matches(&metrics(&[("buy_count_5m", 10.0), ("sell_count_5m", 2.0)])));
        assert!(!t.matches(&metrics(&[("buy_count_5m", 9.0), ("sell_count_5m", 0.0)])));
    }

    #[test]
    fn comparisons_follow_ieee_like_python() {
        let inf = f64::INFINITY;
        let nan = f64::NAN;
        let cases: &[(Op, f64, f64, bool)] = &[
            (Op::Gt, inf, 10.0, true),
            (Op::Ge, inf, inf, true),
            (Op::Eq, inf, inf, true),
            (Op::Lt, inf, inf, false),
            (Op::Gt, 10.0, inf, false),
            (Op::Ge, -inf, -inf, true),
            (Op::Gt, nan, 0.0, false),
            (Op::Ge, nan, 0.0, false),
            (Op::Le, nan, 0.0, false),
            (Op::Lt, nan, 0.0, false),
            (Op::Eq, nan, nan, false),
            (Op::Le, 0.0, nan, false),
            (Op::Eq, 0.1 + 0.2, 0.3, false),
            (Op::Eq, 0.5, 0.5, true),
            (Op::Eq, -0.0, 0.0, true),
            (Op::Ge, 5.0, 5.0, true),
            (Op::Gt, 5.0, 5.0, false),
            (Op::Le, 5.0, 5.0, true),
            (Op::Lt, 5.0, 5.0, false),
        ];
        for (op, a, b, want) in cases {
            assert_eq!(op.compare(*a, *b), *want, "{a} {} {b}", op.symbol());
        }
        // Through the grammar: a NaN threshold never matches, an infinite ratio passes `> 10`.
        let s = set(&[spec("n", &["buy_count_5m >= nan"])]);
        assert!(!s
            .iter()
            .next()
            .unwrap()
            .matches(&metrics(&[("buy_count_5m", 1.0)])));
        let s = set(&[spec("i", &["buy_sell_ratio_5m > 10"])]);
        let no_sells = metrics(&[("buy_sell_ratio_5m", f64::INFINITY)]);
        assert!(s.iter().next().unwrap().matches(&no_sells));
    }

    #[test]
    fn grammar_tries_operators_in_reference_order() {
        let c = cond("buy_count_5m >= 20");
        assert_eq!((c.op, c.value), (Op::Ge, 20.0));
        assert_eq!(cond("buy_count_5m<=20").op, Op::Le);
        assert_eq!(cond("buy_count_5m == 20").op, Op::Eq);
        assert_eq!(cond("buy_count_5m > 20").op, Op::Gt);
        assert_eq!(cond("buy_count_5m < 20").op, Op::Lt);
        assert_eq!(cond("  buy_count_5m   >   -5  ").value, -5.0);
        assert_eq!(cond("buy_sell_ratio_1h > inf").value, f64::INFINITY);
        assert_eq!(cond("buy_count_5m >= 1e3").value, 1000.0);
        // `>` is tried before `<`: the field becomes "buy_count_5m < 1".
        assert!(matches!(
            Condition::parse("buy_count_5m < 1 > 2"),
            Err(ConditionError::UnknownMetric { field, .. }) if field == "buy_count_5m < 1"
        ));
        // `>` occurs twice, so it does not split into two parts, and no later operator occurs.
        assert_eq!(
            Condition::parse("buy_count_5m > 1 > 2"),
            Err(ConditionError::NoOperator)
        );
        assert_eq!(
            Condition::parse("buy_count_5m >> 1"),
            Err(ConditionError::NoOperator)
        );
        // `>=` splits first, so the value is "= 5".
        assert_eq!(
            Condition::parse("buy_count_5m >== 5"),
            Err(ConditionError::BadValue {
                value: "= 5".into()
            })
        );
        assert_eq!(
            cond("buy_count_5m == 20").to_string(),
            "buy_count_5m == 20.0"
        );
    }

    #[test]
    fn trailing_comments_are_stripped() {
        let c = cond("new_wallet_pct_5m > 0.7  # 0% win rate");
        assert_eq!(c.metric.name(), "new_wallet_pct_5m");
        assert_eq!((c.op, c.value), (Op::Gt, 0.7));
        assert_eq!(
            Condition::parse("# only a comment"),
            Err(ConditionError::Empty)
        );
        assert_eq!(Condition::parse("   "), Err(ConditionError::Empty));
    }

    #[test]
    fn invalid_conditions_are_rejected_naming_trigger_and_condition() {
        assert_eq!(
            rejection(&[spec("whale", &["top3_share_5m >= 0.8"])]),
            "trigger \"whale\" condition \"top3_share_5m >= 0.8\": unknown metric top3_share_5m \
             (did you mean top_3_buyers_volume_share_5m?)"
        );
        assert_eq!(
            rejection(&[spec("t", &["buy_count_5m >= 1", "buy_count_5m => 20"])]),
            "trigger \"t\" condition \"buy_count_5m => 20\": unknown metric buy_count_5m = \
             (did you mean buy_count_5m?)"
        );
        assert_eq!(
            rejection(&[spec("t", &["buy_count_5m 20"])]),
            "trigger \"t\" condition \"buy_count_5m 20\": no comparison operator \
             (expected one of >= <= == > <)"
        );
        assert_eq!(
            rejection(&[spec("t", &["buy_count_5m >= twenty"])]),
            "trigger \"t\" condition \"buy_count_5m >= twenty\": value \"twenty\" is not a number"
        );
        assert_eq!(
            rejection(&[spec("t", &["buy_count_5m >= "])]),
            "trigger \"t\" condition \"buy_count_5m >= \": value \"\" is not a number"
        );
        assert_eq!(
            rejection(&[spec("t", &[">= 5"])]),
            "trigger \"t\" condition \">= 5\": missing metric name before >="
        );
        assert_eq!(
            rejection(&[spec("t", &[""])]),
            "trigger \"t\" condition \"\": empty condition"
        );
        assert_eq!(
            rejection(&[spec("t", &[])]),
            "trigger \"t\" has no conditions"
        );
        assert_eq!(
            rejection(&[
                spec("ok", &["buy_count_5m > 1"]),
                spec("  ", &["buy_count_5m > 1"])
            ]),
            "trigger #1 has an empty name"
        );
        assert_eq!(
            rejection(&[
                spec("a", &["buy_count_5m > 1"]),
                spec("a", &["sell_count_5m > 1"])
            ]),
            "trigger \"a\" is defined twice"
        );
    }

    #[test]
    fn suggestions_pick_the_closest_metric() {
        let cases = [
            ("buy_cont_5m", "buy_count_5m"),
            ("buy_count_15m", "buy_count_5m"),
            ("volume_sol_5m", "buy_volume_sol_5m"),
            ("unique_buyer_1h", "unique_buyers_1h"),
            ("Buy_Count_1H", "buy_count_1h"),
            ("new_wallets_1h", "new_wallet_pct_1h"),
            ("top3_share_5m", "top_3_buyers_volume_share_5m"),
            ("ratio_1h", "buy_sell_ratio_1h"),
        ];
        for (typo, want) in cases {
            match Condition::parse(&format!("{typo} > 1")) {
                Err(ConditionError::UnknownMetric { field, suggestion }) => {
                    assert_eq!(field, typo);
                    assert_eq!(suggestion, want, "for {typo}");
                }
                other => panic!("{typo}: {other:?}"),
            }
        }
    }

    #[test]
    fn disabled_triggers_are_skipped_but_still_validated() {
        let mut off = spec("off", &["buy_count_5m >= 1"]);
        off.enabled = false;
        let s = set(&[off.clone(), spec("on", &["buy_count_5m >= 2"])]);
        assert_eq!(s.len(), 1);
        assert!(s.get("off").is_none());
        let m = metrics(&[("buy_count_5m", 5.0)]);
        assert_eq!(s.first_match(&m, |_| false).unwrap().name, "on");

        off.conditions = vec!["nonsense_5m > 1".into()];
        assert!(rejection(&[off.clone()]).starts_with("trigger \"off\" condition"));
        off.conditions = vec!["buy_count_5m >= 1".into()];
        assert!(set(&[off]).is_empty());
    }

    #[test]
    fn descriptions_come_from_the_spec_or_the_reference_names() {
        let mut custom = spec("extreme_ratio", &["buy_count_5m > 1"]);
        custom.description = Some("mine".into());
        let s = set(&[
            custom,
            spec("sybil_pattern", &["new_wallet_pct_5m > 0.7"]),
            spec("other", &["buy_count_5m > 1"]),
        ]);
        let d: Vec<_> = s.iter().map(|t| t.description.as_deref()).collect();
        assert_eq!(
            d,
            [Some("mine"), Some("Suspicious new wallet activity"), None]
        );
        assert_eq!(
            known_description("gradual_accumulation"),
            Some("Steady buy pressure building")
        );
    }

    #[test]
    fn toml_file_with_defaults_and_reference_comments() {
        let text = r#"
            [[triggers]]
            name = "concentrated_accumulation"
            conditions = ["buy_count_5m >= 20", "unique_buyers_5m <= 5", "buy_volume_sol_5m >= 5"]

            [[triggers]]
            name = "sybil_pattern"
            enabled = false
            conditions = ["new_wallet_pct_5m > 0.7  # 0% win rate", "buy_volume_sol_5m >= 5"]

            [[triggers]]
            name = "gradual_accumulation"
            description = "slow"
            conditions = ["buy_sell_ratio_1h > 5", "buy_volume_sol_1h >= 20"]
        "#;
        let s = parse_triggers_toml(text).unwrap();
        let names: Vec<_> = s.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["concentrated_accumulation", "gradual_accumulation"]);
        assert_eq!(
            s.get("gradual_accumulation")
                .unwrap()
                .description
                .as_deref(),
            Some("slow")
        );
        assert_eq!(
            s.get("concentrated_accumulation").unwrap(),
            TriggerSet::defaults()
                .get("concentrated_accumulation")
                .unwrap()
        );
        assert!(parse_triggers_toml("triggers = []").unwrap().is_empty());
    }

    #[test]
    fn toml_file_errors() {
        let err = parse_triggers_toml("").unwrap_err();
        assert!(matches!(err, TriggerError::Toml(_)), "{err}");
        assert!(err.to_string().contains("triggers"), "{err}");
        let err = parse_triggers_toml(
            "[[triggers]]\nname = \"t\"\nconditions = [\"buy_count_5m > 1\"]\nenable = false\n",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("enable"),
            "unknown field named: {err}"
        );
        let err =
            parse_triggers_toml("[[triggers]]\nconditions = [\"buy_count_5m > 1\"]\n").unwrap_err();
        assert!(err.to_string().contains("name"), "{err}");
        let err = parse_triggers_toml("[[triggers]]\nname = \"t\"\nconditions = \"x > 1\"\n")
            .unwrap_err();
        assert!(matches!(err, TriggerError::Toml(_)), "{err}");
        let err = parse_triggers_toml(
            "[[triggers]]\nname = \"w\"\nconditions = [\"top3_share_5m >= 0.8\"]\n",
        )
        .unwrap_err();
        assert!(matches!(err, TriggerError::Condition { .. }), "{err}");
        let err = parse_triggers_toml("[[triggers]]\nname = \"w\"\nconditions = []\n").unwrap_err();
        assert_eq!(err, TriggerError::NoConditions { name: "w".into() });
    }

    #[test]
    fn may_fire_ignores_detail_conditions_only() {
        let s = TriggerSet::defaults();
        // whale_concentration's cheap conditions hold; its share is unknown (0) without detail.
        let cheap = metrics(&[
            ("buy_count_5m", 12.0),
            ("buy_volume_sol_5m", 12.0),
            ("avg_buy_size_5m", 1.0),
            ("buy_sell_ratio_5m", 1.0),
        ]);
        assert!(s.may_fire(&cheap));
        assert_eq!(s.first_match(&cheap, |_| false), None);
        assert!(!s.may_fire(&WindowMetrics::default()));
        assert!(!s.may_fire(&metrics(&[
            ("buy_count_5m", 3.0),
            ("buy_volume_sol_5m", 1.0)
        ])));
        let detail_only = set(&[spec("d", &["unique_buyers_5m > 3"])]);
        assert!(detail_only.may_fire(&WindowMetrics::default()));
        assert!(
            !TriggerSet::default().may_fire(&cheap),
            "no triggers, nothing fires"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn value() -> impl Strategy<Value = f64> {
            prop_oneof![
                Just(f64::INFINITY),
                Just(f64::NEG_INFINITY),
                Just(f64::NAN),
                Just(0.0),
                (0u32..60).prop_map(f64::from),
                0.0..100.0f64,
                0.0..1.0f64,
            ]
        }

        fn condition() -> impl Strategy<Value = String> {
            let names: Vec<String> = Metric::all().map(Metric::name).collect();
            (
                proptest::sample::select(names),
                proptest::sample::select(vec![">=", "<=", "==", ">", "<"]),
                value(),
            )
                .prop_map(|(n, op, v)| format!("{n} {op} {}", py_float_repr(v)))
        }

        fn trigger_specs() -> impl Strategy<Value = Vec<TriggerSpec>> {
            proptest::collection::vec(proptest::collection::vec(condition(), 1..4), 0..5).prop_map(
                |triggers| {
                    let mut specs = TriggerSet::default_specs();
                    for (i, conditions) in triggers.into_iter().enumerate() {
                        specs.push(TriggerSpec {
                            name: format!("random_{i}"),
                            conditions,
                            enabled: true,
                            description: None,
                        });
                    }
                    specs
                },
            )
        }

        fn window() -> impl Strategy<Value = WindowValues> {
            proptest::collection::vec(value(), 9).prop_map(|v| WindowValues {
                buy_count: v[0],
                sell_count: v[1],
                unique_buyers: v[2],
                unique_sellers: v[3],
                buy_volume_sol: v[4],
                avg_buy_size: v[5],
                buy_sell_ratio: v[6],
                top_3_buyers_volume_share: v[7],
                new_wallet_pct: v[8],
                detail: true,
                largest_cluster_share: None,
                funded_by_same_source_pct: None,
            })
        }

        proptest! {
            #[test]
            fn may_fire_never_denies_a_match(
                specs in trigger_specs(),
                five_minutes in window(),
                one_hour in window(),
            ) {
                let s = TriggerSet::from_specs(&specs).unwrap();
                let full = WindowMetrics { five_minutes, one_hour };
                let mut cheap = full;
                for w in [&mut cheap.five_minutes, &mut cheap.one_hour] {
                    w.unique_buyers = 0.0;
                    w.unique_sellers = 0.0;
                    w.top_3_buyers_volume_share = 0.0;
                    w.new_wallet_pct = 0.0;
                    w.detail = false;
                }
                if s.first_match(&full, |_| false).is_some() {
                    prop_assert!(s.may_fire(&cheap));
                    prop_assert!(s.may_fire(&full));
                }
            }

            #[test]
            fn every_generated_condition_round_trips(text in condition()) {
                let c = Condition::parse(&text).unwrap();
                prop_assert_eq!(c.to_string(), text);
            }

            #[test]
            fn repr_round_trips(v in proptest::num::f64::ANY) {
                let r = py_float_repr(v);
                let back = parse_py_float(&r).unwrap();
                prop_assert!(back == v || (back.is_nan() && v.is_nan()), "{} -> {}", v, r);
            }
        }
    }
}
