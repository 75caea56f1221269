//! Linked-wallet clusters among an alert's top buyers.
//!
//! Wallets are linked when they were seen acting together: buying the same token in one
//! transaction (a bundle) or sharing a recorded funder. Links are transitive, also through
//! wallets outside the examined set (two buyers funded by one outside wallet are one cluster).
//! The reference had this machinery but never fed it, so every cluster was a singleton.

use std::cmp::Reverse;
use std::collections::HashMap;

use super::triggers::py_fixed;

/// Disjoint sets over `0..n`, with path compression and union by rank.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<usize>,
    rank: Vec<u8>,
}

impl UnionFind {
    pub fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n).collect(),
            rank: vec![0; n],
        }
    }

    pub fn find(&mut self, x: usize) -> usize {
        let mut root = x;
        while self.parent[root] != root {
            root = self.parent[root];
        }
        let mut node = x;
        while self.parent[node] != root {
            node = std::mem::replace(&mut self.parent[node], root);
        }
        root
    }

    /// Joins the sets of `a` and `b`; returns the root of the joined set.
    pub fn union(&mut self, a: usize, b: usize) -> usize {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra == rb {
            return ra;
        }
        let (root, child) = if self.rank[ra] < self.rank[rb] {
            (rb, ra)
        } else {
            (ra, rb)
        };
        self.parent[child] = root;
        if self.rank[ra] == self.rank[rb] {
            self.rank[root] += 1;
        }
        root
    }
}

/// Wallets found to act together, with their combined buy volume.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cluster {
    /// In the order the wallets were given.
    pub members: Vec<String>,
    pub volume_lamports: u64,
}

impl Cluster {
    pub fn size(&self) -> usize {
        self.members.len()
    }
}

/// Partitions `wallets` (each once; a repeated wallet adds its volume to the first) into
/// clusters linked by `groups`, largest volume first (ties in the order of the wallets).
/// `volumes[i]` is the buy volume of `wallets[i]` in lamports (missing entries count as 0).
/// Group members that are not in `wallets` only carry links.
pub fn clusters_from_groups(
    wallets: &[String],
    volumes: &[u64],
    groups: &[Vec<String>],
) -> Vec<Cluster> {
    let mut index: HashMap<&str, usize> = HashMap::new();
    let mut unique: Vec<(&str, u64)> = Vec::new();
    for (i, wallet) in wallets.iter().enumerate() {
        let volume = volumes.get(i).copied().unwrap_or(0);
        match index.get(wallet.as_str()) {
            Some(&at) => unique[at].1 = unique[at].1.saturating_add(volume),
            None => {
                index.insert(wallet, unique.len());
                unique.push((wallet, volume));
            }
        }
    }
    let mut nodes = unique.len();
    for member in groups.iter().flatten() {
        index.entry(member.as_str()).or_insert_with(|| {
            nodes += 1;
            nodes - 1
        });
    }
    let mut sets = UnionFind::new(nodes);
    for group in groups {
        let mut members = group.iter().map(|m| index[m.as_str()]);
        if let Some(first) = members.next() {
            for other in members {
                sets.union(first, other);
            }
        }
    }
    let mut by_root: HashMap<usize, usize> = HashMap::new();
    let mut clusters: Vec<Cluster> = Vec::new();
    for (i, (wallet, volume)) in unique.into_iter().enumerate() {
        let at = *by_root.entry(sets.find(i)).or_insert_with(|| {
            clusters.push(Cluster {
                members: Vec::new(),
                volume_lamports: 0,
            });
            clusters.len() - 1
        });
        let cluster = &mut clusters[at];
        cluster.members.push(wallet.to_string());
        cluster.volume_lamports = cluster.volume_lamports.saturating_add(volume);
    }
    clusters.sort_by_key(|c| Reverse(c.volume_lamports));
    clusters
}

/// The "Wallet Clusters" line of an alert, worded as the reference's `generate_summary`:
/// `3 wallets in 2 clusters: Cluster A (2 wallets, 5.50 SOL), Cluster B (1 wallet, 2.10 SOL)`.
pub fn summary(clusters: &[Cluster]) -> String {
    if clusters.is_empty() {
        return "No cluster data available".into();
    }
    let mut sorted: Vec<&Cluster> = clusters.iter().collect();
    sorted.sort_by_key(|c| Reverse(c.volume_lamports));
    let wallets: usize = sorted.iter().map(|c| c.size()).sum();
    let count = sorted.len();
    let parts: Vec<String> = sorted
        .iter()
        .take(5)
        .zip('A'..)
        .map(|(c, letter)| {
            format!(
                "Cluster {letter} ({} wallet{}, {} SOL)",
                c.size(),
                plural(c.size()),
                py_fixed(c.volume_lamports as f64 / 1e9, 2)
            )
        })
        .collect();
    let mut out = format!(
        "{wallets} wallets in {count} cluster{}: {}",
        plural(count),
        parts.join(", ")
    );
    if count > 5 {
        out.push_str(&format!(" (+{} more clusters)", count - 5));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n > 1 {
        "s"
    } else {
        ""
    }
}

/// `(linked, largest)` for the CTO score: wallets in clusters of two or more, and the size of the
/// largest cluster (0 when there are none).
pub fn linked_stats(clusters: &[Cluster]) -> (usize, usize) {
    let linked = clusters.iter().map(Cluster::size).filter(|&n| n >= 2).sum();
    let largest = clusters.iter().map(Cluster::size).max().unwrap_or(0);
    (linked, largest)
}

/// What an alert learned about its buyers (stored with it, `alerts.wallet_intel`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WalletIntel {
    /// Clusters of the top buyers, largest volume first.
    pub clusters: Vec<Cluster>,
    /// Largest cluster's buy volume over the window's buy volume, in [0, 1] (None without buys).
    pub largest_cluster_share: Option<f64>,
    /// Largest share of the buyers funded by one unlabelled wallet (None when no funding is
    /// known).
    pub funded_by_same_source_pct: Option<f64>,
    /// Per buyer: its unlabelled funders nearest first, and the labelled source it ended at.
    pub funding: Vec<(String, Vec<String>, Option<String>)>,
    /// Inputs that could not be computed ("funding trace: RPC budget spent"); non-empty shows the
    /// alert's Limited Analysis section.
    pub missing: Vec<String>,
    /// The CTO score's inputs by name (see [`super::cto::CtoInput::named`]); infinities as
    /// strings in JSON.
    #[serde(default, with = "named_numbers")]
    pub cto_inputs: Vec<(String, f64)>,
}

/// `(name, number)` pairs with infinities and NaN as strings (JSON numbers cannot hold them).
mod named_numbers {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use crate::domain::alert::{json_to_number, number_to_json};

    pub fn serialize<S: Serializer>(v: &[(String, f64)], s: S) -> Result<S::Ok, S::Error> {
        let pairs: Vec<(&str, serde_json::Value)> = v
            .iter()
            .map(|(n, x)| (n.as_str(), number_to_json(*x)))
            .collect();
        pairs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, f64)>, D::Error> {
        let pairs: Vec<(String, serde_json::Value)> = Vec::deserialize(d)?;
        Ok(pairs
            .into_iter()
            .filter_map(|(n, v)| json_to_number(&v).map(|x| (n, x)))
            .collect())
    }
}

/// The largest cluster's share of `window_buy_lamports` (None when the window has no buys).
pub fn largest_share(clusters: &[Cluster], window_buy_lamports: u64) -> Option<f64> {
    if window_buy_lamports == 0 {
        return None;
    }
    let largest = clusters
        .iter()
        .map(|c| c.volume_lamports)
        .max()
        .unwrap_or(0);
    Some((largest as f64 / window_buy_lamports as f64).min(1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOL: u64 = 1_000_000_000;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_string()).collect()
    }

    fn groups(v: &[&[&str]]) -> Vec<Vec<String>> {
        v.iter().map(|g| strings(g)).collect()
    }

    fn members(clusters: &[Cluster]) -> Vec<Vec<&str>> {
        clusters
            .iter()
            .map(|c| c.members.iter().map(String::as_str).collect())
            .collect()
    }

    fn cluster(members: &[&str], volume_lamports: u64) -> Cluster {
        Cluster {
            members: strings(members),
            volume_lamports,
        }
    }

    #[test]
    fn without_links_every_wallet_is_alone_largest_volume_first() {
        let w = strings(&["a", "b", "c", "d"]);
        let c = clusters_from_groups(&w, &[1, 3, 2, 3], &[]);
        assert_eq!(
            members(&c),
            [["b"], ["d"], ["c"], ["a"]],
            "ties keep input order"
        );
        assert_eq!(
            c.iter().map(|c| c.volume_lamports).collect::<Vec<_>>(),
            [3, 3, 2, 1]
        );
        assert_eq!(linked_stats(&c), (0, 1));
    }

    #[test]
    fn bundles_and_shared_funders_link_wallets_transitively() {
        let w = strings(&["a", "b", "c", "d", "e", "f"]);
        let v = [SOL, 2 * SOL, 3 * SOL, 4 * SOL, 10 * SOL, 0];
        let g = groups(&[
            &["a", "b"],       // a bundle
            &["c", "funder1"], // c and d were funded by one outside wallet
            &["funder1", "d"], //
            &["b", "f"],       // f joins a and b through b
            &["x", "y"],       // outsiders only: no effect
            &[],               // empty group
            &["e"],            // a group of one links nothing
        ]);
        let c = clusters_from_groups(&w, &v, &g);
        assert_eq!(
            members(&c),
            vec![vec!["e"], vec!["c", "d"], vec!["a", "b", "f"]]
        );
        assert_eq!(
            c.iter().map(|c| c.volume_lamports).collect::<Vec<_>>(),
            [10 * SOL, 7 * SOL, 3 * SOL]
        );
        assert_eq!(linked_stats(&c), (5, 3));
        // Every wallet appears exactly once.
        let mut all: Vec<&str> = members(&c).concat();
        all.sort_unstable();
        assert_eq!(all, ["a", "b", "c", "d", "e", "f"]);
    }

    #[test]
    fn repeated_wallets_merge_and_missing_volumes_are_zero() {
        let w = strings(&["a", "b", "a", "c"]);
        let c = clusters_from_groups(&w, &[1, 5, 7], &groups(&[&["c", "b"]]));
        assert_eq!(members(&c), vec![vec!["a"], vec!["b", "c"]]);
        assert_eq!(c[0].volume_lamports, 8);
        assert_eq!(c[1].volume_lamports, 5);
        let c = clusters_from_groups(&strings(&["a"]), &[u64::MAX], &[]);
        assert_eq!(c[0].volume_lamports, u64::MAX);
        let c = clusters_from_groups(&strings(&["a", "a"]), &[u64::MAX, 1], &[]);
        assert_eq!(c[0].volume_lamports, u64::MAX, "saturates");
        assert!(clusters_from_groups(&[], &[], &groups(&[&["a", "b"]])).is_empty());
    }

    #[test]
    fn summary_matches_the_reference_wording() {
        assert_eq!(summary(&[]), "No cluster data available");
        assert_eq!(
            summary(&[
                cluster(&["a"], 2_100_000_000),
                cluster(&["b", "c"], 5_500_000_000)
            ]),
            "3 wallets in 2 clusters: Cluster A (2 wallets, 5.50 SOL), \
             Cluster B (1 wallet, 2.10 SOL)"
        );
        assert_eq!(
            summary(&[cluster(&["a"], 0)]),
            "1 wallets in 1 cluster: Cluster A (1 wallet, 0.00 SOL)"
        );
        // Python: f"{x/1e9:.2f}"
        assert_eq!(
            summary(&[cluster(&["a"], 1_234_567_891)]),
            "1 wallets in 1 cluster: Cluster A (1 wallet, 1.23 SOL)"
        );
        assert_eq!(
            summary(&[cluster(&["a"], 5_555_000_000)]),
            "1 wallets in 1 cluster: Cluster A (1 wallet, 5.55 SOL)"
        );
        assert_eq!(
            summary(&[cluster(&["a"], 5_000_000), cluster(&["b"], 4_999_999)]),
            "2 wallets in 2 clusters: Cluster A (1 wallet, 0.01 SOL), \
             Cluster B (1 wallet, 0.00 SOL)"
        );
        assert_eq!(
            summary(&[cluster(&["a"], u64::MAX)]),
            "1 wallets in 1 cluster: Cluster A (1 wallet, 18446744073.71 SOL)"
        );
    }

    #[test]
    fn summary_shows_five_clusters_and_counts_the_rest() {
        let names: Vec<String> = (0..8).map(|i| format!("w{i}")).collect();
        let volumes: Vec<u64> = (1..=8).map(|i| i * SOL).collect();
        let c = clusters_from_groups(&names[..6], &volumes, &[]);
        assert_eq!(
            summary(&c),
            "6 wallets in 6 clusters: Cluster A (1 wallet, 6.00 SOL), \
             Cluster B (1 wallet, 5.00 SOL), Cluster C (1 wallet, 4.00 SOL), \
             Cluster D (1 wallet, 3.00 SOL), Cluster E (1 wallet, 2.00 SOL) (+1 more clusters)"
        );
        let c = clusters_from_groups(&names, &volumes, &groups(&[&["w0", "w1"]]));
        assert_eq!(
            summary(&c),
            "8 wallets in 7 clusters: Cluster A (1 wallet, 8.00 SOL), \
             Cluster B (1 wallet, 7.00 SOL), Cluster C (1 wallet, 6.00 SOL), \
             Cluster D (1 wallet, 5.00 SOL), Cluster E (1 wallet, 4.00 SOL) (+2 more clusters)"
        );
        let five = clusters_from_groups(&names[..5], &volumes, &[]);
        assert!(!summary(&five).contains("more"));
    }

    #[test]
    fn summary_orders_by_volume_whatever_the_input_order() {
        let s = summary(&[
            cluster(&["a"], SOL),
            cluster(&["b", "c"], 3 * SOL),
            cluster(&["d"], 2 * SOL),
        ]);
        assert_eq!(
            s,
            "4 wallets in 3 clusters: Cluster A (2 wallets, 3.00 SOL), \
             Cluster B (1 wallet, 2.00 SOL), Cluster C (1 wallet, 1.00 SOL)"
        );
    }

    #[test]
    fn linked_stats_counts_only_multi_wallet_clusters() {
        assert_eq!(linked_stats(&[]), (0, 0));
        let c = [
            cluster(&["a", "b", "c"], 0),
            cluster(&["d"], 0),
            cluster(&["e", "f"], 0),
        ];
        assert_eq!(linked_stats(&c), (5, 3));
    }

    #[test]
    fn wallet_intel_round_trips_through_json_with_an_infinite_input() {
        let intel = WalletIntel {
            clusters: vec![cluster(&["a", "b"], 3)],
            largest_cluster_share: Some(0.5),
            missing: vec!["funding trace: provider errors".into()],
            cto_inputs: vec![("buy_sell_ratio".into(), f64::INFINITY), ("x".into(), 1.5)],
            ..WalletIntel::default()
        };
        let text = serde_json::to_string(&intel).unwrap();
        assert!(text.contains("\"inf\""), "{text}");
        let back: WalletIntel = serde_json::from_str(&text).unwrap();
        assert_eq!(back, intel);
        let old: WalletIntel = serde_json::from_str(
            r#"{"clusters":[],"largest_cluster_share":null,"funded_by_same_source_pct":null,"funding":[],"missing":[]}"#,
        )
        .unwrap();
        assert!(old.cto_inputs.is_empty());
    }

    #[test]
    fn largest_share_is_of_the_window_volume() {
        let c = [cluster(&["a", "b"], 6 * SOL), cluster(&["c"], 2 * SOL)];
        assert_eq!(largest_share(&c, 10 * SOL), Some(0.6));
        assert_eq!(largest_share(&c, 0), None);
        assert_eq!(largest_share(&c, 3 * SOL), Some(1.0), "capped");
        assert_eq!(largest_share(&[], 5), Some(0.0));
    }

    #[test]
    fn a_ring_funded_by_one_source_is_one_cluster_independent_wallets_are_not() {
        use crate::domain::funding::{funding_groups, Chain};
        let buyers: Vec<String> = (0..5).map(|i| format!("b{i}")).collect();
        let volumes = vec![2 * SOL; 5];
        let ring: Vec<Chain> = (0..5)
            .map(|_| Chain {
                funders: vec!["ringleader".into(), "fresh2".into()],
                complete: true,
                ..Chain::default()
            })
            .collect();
        let c = clusters_from_groups(&buyers, &volumes, &funding_groups(&buyers, &ring));
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].size(), 5);
        assert_eq!(largest_share(&c, 10 * SOL), Some(1.0));
        let independent: Vec<Chain> = (0..5)
            .map(|i| Chain {
                funders: vec![format!("own{i}")],
                complete: true,
                ..Chain::default()
            })
            .collect();
        let c = clusters_from_groups(&buyers, &volumes, &funding_groups(&buyers, &independent));
        assert_eq!(c.len(), 5);
        assert_eq!(largest_share(&c, 10 * SOL), Some(0.2));
    }

    #[test]
    fn the_cluster_trigger_fires_for_a_funded_ring_not_for_the_same_volume_from_independents() {
        use crate::domain::funding::{funding_groups, same_source_share, Chain};
        use crate::domain::triggers::parse_triggers_toml;
        use crate::domain::windows::{WindowMetrics, WindowValues};
        let set = parse_triggers_toml(
            "[[triggers]]\nname = \"funded_ring\"\nconditions = [\"buy_volume_sol_5m >= 5\", \
             \"largest_cluster_share_5m >= 0.5\", \"funded_by_same_source_pct_5m >= 0.8\"]\n",
        )
        .unwrap();
        let t = &set.iter().next().unwrap().clone();
        assert!(t.needs_wallets());
        let buyers: Vec<String> = (0..5).map(|i| format!("b{i}")).collect();
        let volumes = vec![2 * SOL; 5];
        let base = WindowValues {
            buy_volume_sol: 10.0,
            ..WindowValues::default()
        };
        let with = |share: Option<f64>, same: Option<f64>| WindowMetrics {
            five_minutes: WindowValues {
                largest_cluster_share: share,
                funded_by_same_source_pct: same,
                ..base
            },
            one_hour: base,
        };
        // Before the trace: the volume condition holds, the wallet ones are unknown.
        let untraced = with(None, None);
        assert!(t.matches_before_wallets(&untraced));
        assert!(!t.matches(&untraced));
        let mut outcomes = Vec::new();
        for funders in [
            vec![vec!["source".to_string()]; 5],
            (0..5).map(|i| vec![format!("own{i}")]).collect::<Vec<_>>(),
        ] {
            let chains: Vec<Chain> = funders
                .into_iter()
                .map(|f| Chain {
                    funders: f,
                    complete: true,
                    ..Chain::default()
                })
                .collect();
            let c = clusters_from_groups(&buyers, &volumes, &funding_groups(&buyers, &chains));
            let m = with(
                largest_share(&c, 10 * SOL),
                same_source_share(&buyers, &chains),
            );
            outcomes.push(t.matches(&m));
        }
        assert_eq!(
            outcomes,
            [true, false],
            "ring fires, independent wallets do not"
        );
    }

    #[test]
    fn union_find_joins_and_compresses() {
        let mut u = UnionFind::new(6);
        assert_eq!(u.find(3), 3);
        let r = u.union(0, 1);
        assert_eq!(u.find(0), r);
        assert_eq!(u.find(1), r);
        u.union(2, 3);
        u.union(1, 3);
        let root = u.find(0);
        assert!((0..4).all(|i| u.find(i) == root));
        assert_ne!(u.find(4), root);
        assert_eq!(u.union(0, 3), root, "already joined");
        // A long chain still resolves to one root.
        let mut chain = UnionFind::new(1000);
        for i in 1..1000 {
            chain.union(i - 1, i);
        }
        let r = chain.find(0);
        assert!((0..1000).all(|i| chain.find(i) == r));
    }
}
