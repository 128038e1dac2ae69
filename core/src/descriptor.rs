//! Workflow descriptors (CWL, WDL, Nextflow, Galaxy, Snakemake) that a container points at: a
//! path in its git source or an http(s) URL. The builder fetches the descriptor with the source
//! at build time and records it with the build, so GA4GH TRS serves exactly what was built.

use std::fmt;

/// The largest descriptor recorded; a bigger one is refused by the builder (and said in the
/// build log), not cut.
pub const MAX_DESCRIPTOR_BYTES: usize = 1024 * 1024;
/// The longest descriptor path or URL a container may name.
pub const MAX_DESCRIPTOR_REF_LEN: usize = 1024;

/// A descriptor language, named as TRS names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DescriptorType {
    Cwl,
    Wdl,
    Nfl,
    Galaxy,
    Smk,
}

impl DescriptorType {
    pub const ALL: [DescriptorType; 5] = [
        DescriptorType::Cwl,
        DescriptorType::Wdl,
        DescriptorType::Nfl,
        DescriptorType::Galaxy,
        DescriptorType::Smk,
    ];

    /// The TRS name: `CWL`, `WDL`, `NFL`, `GALAXY`, `SMK`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cwl => "CWL",
            Self::Wdl => "WDL",
            Self::Nfl => "NFL",
            Self::Galaxy => "GALAXY",
            Self::Smk => "SMK",
        }
    }

    /// The type of a TRS name, plain (`PLAIN_CWL`) or not, in any case.
    pub fn parse(name: &str) -> Option<Self> {
        let upper = name.to_ascii_uppercase();
        let bare = upper.strip_prefix("PLAIN_").unwrap_or(&upper);
        Self::ALL.into_iter().find(|t| t.as_str() == bare)
    }

    /// The language a file is written in, by its name: `*.cwl`, `*.wdl`, `*.nf`,
    /// `*.ga`/`*.gxwf.yml`/`*.gxwf.yaml`, `Snakefile`/`*.smk`.
    pub fn of_file_name(path: &str) -> Option<Self> {
        let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
        let ends = |suffix: &str| name.len() > suffix.len() && name.ends_with(suffix);
        if ends(".cwl") {
            Some(Self::Cwl)
        } else if ends(".wdl") {
            Some(Self::Wdl)
        } else if ends(".nf") {
            Some(Self::Nfl)
        } else if ends(".ga") || ends(".gxwf.yml") || ends(".gxwf.yaml") {
            Some(Self::Galaxy)
        } else if name == "snakefile" || ends(".smk") {
            Some(Self::Smk)
        } else {
            None
        }
    }
}

impl fmt::Display for DescriptorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A descriptor reference, as the API's schema states it and [`DescriptorSource::parse`]
/// checks it (one pattern for both, so the document and the server agree): a path in the
/// repository whose segments start with a letter, digit or `_` (no `.`, `..` or hidden
/// directories), or an http(s) URL with a host and no credentials; either ends in a known
/// descriptor file name (`*.cwl`, `*.wdl`, `*.nf`, `*.ga`, `*.gxwf.yml`, `*.gxwf.yaml`,
/// `*.smk`, `Snakefile`), a URL possibly followed by a query.
pub const DESCRIPTOR_PATTERN: &str = concat!(
    r"^(?:",
    // A path.
    r"(?:[A-Za-z0-9_][A-Za-z0-9._-]*/)*",
    r"(?:[A-Za-z0-9_][A-Za-z0-9._-]*\.(?:cwl|wdl|nf|ga|smk|gxwf\.yml|gxwf\.yaml)|Snakefile)",
    // Or a URL.
    r"|[hH][tT][tT][pP][sS]?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?",
    r"(?:/[A-Za-z0-9._~%!$&'()*+,;=:@-]*)*/",
    r"(?:[A-Za-z0-9._~%!$&'()*+,;=:@-]*\.(?:cwl|wdl|nf|ga|smk|gxwf\.yml|gxwf\.yaml)|Snakefile)",
    r"(?:\?[A-Za-z0-9._~%!$&'()*+,;=:@/?-]*)?",
    r")$"
);

static PATTERN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(DESCRIPTOR_PATTERN).expect("the descriptor pattern compiles")
});

/// Where a container's descriptor comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DescriptorSource {
    /// A file of the git source, relative to the repository's root.
    Path(String),
    /// A document on the web.
    Url(String),
}

impl DescriptorSource {
    /// Reads what a container's `descriptor` setting says: at most
    /// [`MAX_DESCRIPTOR_REF_LEN`] characters matching [`DESCRIPTOR_PATTERN`].
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() || raw.len() > MAX_DESCRIPTOR_REF_LEN || !PATTERN.is_match(raw) {
            return Err(format!(
                "`descriptor` is a path in the repository (`cwl/tool.cwl`) or an http(s) URL, \
                 at most {MAX_DESCRIPTOR_REF_LEN} characters, naming a .cwl, .wdl, .nf, .ga, \
                 .gxwf.yml, .smk file or a Snakefile"
            ));
        }
        if raw.contains("://") {
            Ok(Self::Url(raw.to_owned()))
        } else {
            Ok(Self::Path(raw.to_owned()))
        }
    }

    /// The descriptor's language, from its file name (a URL's path, without its query).
    pub fn kind(&self) -> Option<DescriptorType> {
        DescriptorType::of_file_name(&self.file_name())
    }

    /// The file's name: what TRS serves it as (`descriptor/{relative_path}`).
    pub fn file_name(&self) -> String {
        let full = match self {
            Self::Path(path) => path.as_str(),
            Self::Url(url) => url.split(['?', '#']).next().unwrap_or(url),
        };
        full.rsplit('/').next().unwrap_or(full).to_owned()
    }

    /// Where it comes from, as recorded with a build (the path or the URL).
    pub fn origin(&self) -> &str {
        match self {
            Self::Path(path) | Self::Url(path) => path,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_file_name_and_trs_name() {
        assert_eq!(
            DescriptorType::of_file_name("tools/bwa.cwl"),
            Some(DescriptorType::Cwl)
        );
        assert_eq!(
            DescriptorType::of_file_name("Snakefile"),
            Some(DescriptorType::Smk)
        );
        assert_eq!(
            DescriptorType::of_file_name("main.NF"),
            Some(DescriptorType::Nfl)
        );
        assert_eq!(
            DescriptorType::of_file_name("x.gxwf.yml"),
            Some(DescriptorType::Galaxy)
        );
        assert_eq!(DescriptorType::of_file_name(".cwl"), None);
        assert_eq!(DescriptorType::of_file_name("README.md"), None);
        assert_eq!(
            DescriptorType::parse("plain_cwl"),
            Some(DescriptorType::Cwl)
        );
        assert_eq!(DescriptorType::parse("YAML"), None);
    }

    #[test]
    fn paths_and_urls_are_checked() {
        assert_eq!(
            DescriptorSource::parse("cwl/bwa.cwl"),
            Ok(DescriptorSource::Path("cwl/bwa.cwl".into()))
        );
        assert_eq!(
            DescriptorSource::parse("workflow/Snakefile").map(|d| d.kind()),
            Ok(Some(DescriptorType::Smk))
        );
        assert_eq!(
            DescriptorSource::parse("https://example.org/w/main.wdl?raw=1"),
            Ok(DescriptorSource::Url(
                "https://example.org/w/main.wdl?raw=1".into()
            ))
        );
        assert_eq!(
            DescriptorSource::parse("https://example.org/w/main.wdl?raw=1")
                .unwrap()
                .file_name(),
            "main.wdl"
        );
        for bad in [
            "",
            "/etc/tool.cwl",
            "../tool.cwl",
            "a/../../tool.cwl",
            "a//tool.cwl",
            "a\\tool.cwl",
            "tool.txt",
            "file:///etc/tool.cwl",
            "ftp://example.org/tool.cwl",
            "https://user:pw@example.org/tool.cwl",
            "https:///tool.cwl",
            "my tool.cwl",
            "./tool.cwl",
            ".hidden/tool.cwl",
            "tool.CWL",
            "https://example.org/tool.cwl#frag",
        ] {
            assert!(DescriptorSource::parse(bad).is_err(), "{bad}");
        }
        assert!(DescriptorSource::parse(&format!("{}.cwl", "a".repeat(1100))).is_err());
    }
}
