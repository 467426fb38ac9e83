//! Reading a `/metrics` scrape (Prometheus text format) in tests: every
//! sample keyed by its series as written (`name{label="v",…}`), and the names.

use std::collections::{BTreeMap, BTreeSet};

/// One scrape: series → value.
#[derive(Debug, Clone)]
pub struct Scrape {
    pub samples: BTreeMap<String, f64>,
    pub text: String,
}

impl Scrape {
    pub fn parse(text: &str) -> Scrape {
        let samples = text
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let (series, value) = l
                    .rsplit_once(' ')
                    .unwrap_or_else(|| panic!("sample line {l:?}"));
                let value = match value {
                    "+Inf" => f64::INFINITY,
                    "-Inf" => f64::NEG_INFINITY,
                    v => v.parse().unwrap_or_else(|_| panic!("value in {l:?}")),
                };
                (series.to_owned(), value)
            })
            .collect();
        Scrape {
            samples,
            text: text.to_owned(),
        }
    }

    /// The series' value, 0 when it is not in the scrape (a counter not yet moved).
    pub fn value(&self, series: &str) -> f64 {
        self.samples.get(series).copied().unwrap_or(0.0)
    }

    /// The series' value; panics (showing the scrape) when it is missing.
    pub fn must(&self, series: &str) -> f64 {
        *self
            .samples
            .get(series)
            .unwrap_or_else(|| panic!("{series} is not in the scrape:\n{}", self.text))
    }

    /// Names of the metric families in the scrape, histogram series
    /// (`_bucket`, `_sum`, `_count`) under their family's name as well.
    pub fn names(&self) -> BTreeSet<String> {
        let mut names = BTreeSet::new();
        for series in self.samples.keys() {
            let name = series.split('{').next().unwrap_or(series).to_owned();
            for suffix in ["_bucket", "_sum", "_count"] {
                if let Some(family) = name.strip_suffix(suffix) {
                    names.insert(family.to_owned());
                }
            }
            names.insert(name);
        }
        names
    }
}

/// The scrape of the server at `base` (`http://host:port`).
pub async fn scrape(client: &reqwest::Client, base: &str) -> Scrape {
    let r = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("the server answers /metrics");
    assert_eq!(r.status(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    Scrape::parse(&r.text().await.unwrap())
}
