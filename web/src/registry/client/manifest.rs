//! Reading manifests, indexes and image configs (Docker v2 and OCI alike) for what the
//! catalogue shows: size, platforms and labels.

use std::collections::BTreeMap;

use serde::Deserialize;

/// More labels than this, or longer ones, are not image metadata worth showing.
const MAX_LABELS: usize = 200;
const MAX_LABEL_KEY: usize = 256;
const MAX_LABEL_VALUE: usize = 4096;

/// What the catalogue records of a pushed image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Compressed bytes: config + layers (of the chosen platform, for an index).
    pub size: u64,
    /// `os/architecture[/variant]`, one per platform.
    pub platforms: Vec<String>,
    /// The config's `Labels`.
    pub labels: BTreeMap<String, String>,
}

impl Image {
    /// `platforms` comes from the index, if the image was one.
    pub(super) fn of(
        manifest: &ImageManifest,
        config: &ImageConfig,
        platforms: Option<Vec<String>>,
    ) -> Self {
        let size = manifest
            .layers
            .iter()
            .fold(manifest.config.size, |sum, layer| {
                sum.saturating_add(layer.size)
            });
        let platforms = platforms.unwrap_or_else(|| config.platform().into_iter().collect());
        Self {
            size,
            platforms,
            labels: config.labels(),
        }
    }
}

/// A manifest as fetched: an index (or Docker manifest list) or one image's manifest.
#[derive(Debug)]
pub(super) enum Manifest {
    Index(Index),
    Image(ImageManifest),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    media_type: Option<String>,
    manifests: Option<Vec<Descriptor>>,
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

impl Manifest {
    /// Tells the kinds apart by their fields (OCI manifests may omit `mediaType`).
    pub(super) fn parse(bytes: &[u8], content_type: Option<&str>) -> Result<Self, String> {
        let raw: Raw = serde_json::from_slice(bytes).map_err(|e| format!("not a manifest: {e}"))?;
        match (raw.manifests, raw.config) {
            (Some(manifests), _) => Ok(Self::Index(Index { manifests })),
            (None, Some(config)) => Ok(Self::Image(ImageManifest {
                config,
                layers: raw.layers,
            })),
            (None, None) => Err(format!(
                "neither an index nor an image manifest (media type {})",
                raw.media_type
                    .as_deref()
                    .or(content_type)
                    .unwrap_or("unknown")
            )),
        }
    }
}

/// A descriptor: what a manifest says of another blob or manifest.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Descriptor {
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
pub(super) struct Platform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    variant: Option<String>,
}

impl Platform {
    /// `os/architecture[/variant]`; `None` for the `unknown/unknown` entries attestations use.
    fn name(&self) -> Option<String> {
        platform_name(&self.os, &self.architecture, self.variant.as_deref())
    }
}

fn platform_name(os: &str, architecture: &str, variant: Option<&str>) -> Option<String> {
    let known = |s: &str| !s.is_empty() && s != "unknown";
    if !known(os) || !known(architecture) {
        return None;
    }
    Some(match variant.filter(|v| !v.is_empty()) {
        Some(variant) => format!("{os}/{architecture}/{variant}"),
        None => format!("{os}/{architecture}"),
    })
}

#[derive(Debug)]
pub(super) struct Index {
    manifests: Vec<Descriptor>,
}

impl Index {
    /// The platforms the index offers, in its order, each once.
    pub fn platforms(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for name in self
            .manifests
            .iter()
            .filter_map(|m| m.platform.as_ref()?.name())
        {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }

    /// The image to read size and labels from: linux/amd64, else the first real platform,
    /// else the first entry.
    pub fn chosen(&self) -> Option<&Descriptor> {
        let named = |m: &&Descriptor| m.platform.as_ref().and_then(Platform::name);
        self.manifests
            .iter()
            .find(|m| named(m).is_some_and(|n| n == "linux/amd64"))
            .or_else(|| self.manifests.iter().find(|m| named(m).is_some()))
            .or_else(|| self.manifests.first())
    }
}

#[derive(Debug)]
pub(super) struct ImageManifest {
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// The parts of an image config the catalogue reads.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct ImageConfig {
    os: String,
    architecture: String,
    variant: Option<String>,
    config: Option<RunConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RunConfig {
    #[serde(rename = "Labels")]
    labels: Option<BTreeMap<String, serde_json::Value>>,
}

impl ImageConfig {
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        serde_json::from_slice(bytes).map_err(|e| format!("not an image config: {e}"))
    }

    fn platform(&self) -> Option<String> {
        platform_name(&self.os, &self.architecture, self.variant.as_deref())
    }

    /// String labels of reasonable size, at most [`MAX_LABELS`] of them.
    fn labels(&self) -> BTreeMap<String, String> {
        let Some(labels) = self.config.as_ref().and_then(|c| c.labels.as_ref()) else {
            return BTreeMap::new();
        };
        labels
            .iter()
            .filter_map(|(key, value)| Some((key, value.as_str()?)))
            .filter(|(key, value)| key.len() <= MAX_LABEL_KEY && value.len() <= MAX_LABEL_VALUE)
            .take(MAX_LABELS)
            .map(|(key, value)| (key.clone(), value.to_owned()))
            .collect()
    }
}

#[cfg(test)]
mod tests;
