//! The table of figures: each row a platform figure, its baseline, their ratio and the target.

use std::fmt::Write as _;

/// Whether a target was met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Met; the text names the target.
    Pass(String),
    /// Missed; the text names the target.
    Miss(String),
}

impl Verdict {
    /// `Pass` when `ok`, else `Miss`, naming `target`.
    pub fn check(ok: bool, target: impl Into<String>) -> Self {
        if ok {
            Self::Pass(target.into())
        } else {
            Self::Miss(target.into())
        }
    }

    fn text(&self) -> String {
        match self {
            Self::Pass(t) => format!("PASS ({t})"),
            Self::Miss(t) => format!("MISS ({t})"),
        }
    }
}

/// One line of the table.
#[derive(Debug, Clone)]
pub struct Row {
    /// What was measured.
    pub name: String,
    /// The platform's figure.
    pub platform: String,
    /// The baseline's figure, if there is one.
    pub baseline: String,
    /// platform / baseline, if there is a baseline.
    pub ratio: Option<f64>,
    /// The target, if one applies.
    pub verdict: Option<Verdict>,
}

impl Row {
    /// A row with only a platform figure.
    pub fn figure(name: impl Into<String>, platform: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            platform: platform.into(),
            baseline: String::new(),
            ratio: None,
            verdict: None,
        }
    }

    /// A row comparing the platform with a baseline.
    pub fn compared(
        name: impl Into<String>,
        platform: impl Into<String>,
        baseline: impl Into<String>,
        ratio: f64,
    ) -> Self {
        Self {
            baseline: baseline.into(),
            ratio: Some(ratio),
            ..Self::figure(name, platform)
        }
    }

    /// The same row judged against a target.
    pub fn judged(mut self, verdict: Verdict) -> Self {
        self.verdict = Some(verdict);
        self
    }
}

/// Renders rows as an aligned Markdown table.
pub fn render(rows: &[Row]) -> String {
    let header = [
        "measure",
        "platform",
        "baseline",
        "platform/baseline",
        "target",
    ];
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.platform.clone(),
                r.baseline.clone(),
                r.ratio.map(|x| format!("{x:.2}x")).unwrap_or_default(),
                r.verdict.as_ref().map(Verdict::text).unwrap_or_default(),
            ]
        })
        .collect();
    let mut widths = header.map(str::len);
    for row in &cells {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: &[String]| {
        let padded: Vec<String> = cols
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "| {} |", padded.join(" | "));
    };
    line(&header.map(String::from));
    line(&widths.map(|w| "-".repeat(w)));
    for row in &cells {
        line(row);
    }
    out
}
