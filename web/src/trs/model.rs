//! The TRS 2.0.1 bodies, field for field as the specification names them
//! (`openapi/ga4gh-trs-2.0.1.yaml`). Nothing else goes in: strict clients such as `trs-cli`
//! refuse a body with a field their model lacks, so the fields that only 2.0.1 added and that
//! we have nothing to say in (`descriptor_type_version`, `ToolFile.checksum`,
//! `FileWrapper.image_type`) are left out too.

use serde::Serialize;

/// The one tool class of a container catalogue.
pub const COMMAND_LINE_TOOL: &str = "CommandLineTool";

#[derive(Debug, Serialize)]
pub struct ServiceInfo {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub service_type: ServiceType,
    pub description: String,
    pub organization: Organization,
    #[serde(rename = "documentationUrl")]
    pub documentation_url: String,
    pub version: String,
}

#[derive(Debug, Serialize)]
pub struct ServiceType {
    pub group: &'static str,
    pub artifact: &'static str,
    pub version: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Organization {
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolClass {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

impl ToolClass {
    pub fn command_line_tool() -> Self {
        Self {
            id: COMMAND_LINE_TOOL,
            name: COMMAND_LINE_TOOL,
            description: "A command-line tool packaged as a container image",
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Tool {
    pub url: String,
    pub id: String,
    pub aliases: Vec<String>,
    pub organization: String,
    pub name: String,
    pub toolclass: ToolClass,
    pub description: String,
    pub meta_version: String,
    pub has_checker: bool,
    pub versions: Vec<ToolVersion>,
}

#[derive(Debug, Serialize)]
pub struct ToolVersion {
    pub author: Vec<String>,
    pub name: String,
    pub url: String,
    pub id: String,
    pub is_production: bool,
    pub images: Vec<ImageData>,
    pub descriptor_type: Vec<String>,
    pub containerfile: bool,
    pub meta_version: String,
    pub verified: bool,
    pub verified_source: Vec<String>,
    pub signed: bool,
    pub included_apps: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ImageData {
    pub registry_host: String,
    pub image_name: String,
    pub size: u64,
    pub updated: String,
    pub checksum: Vec<Checksum>,
    pub image_type: &'static str,
}

#[derive(Debug, Serialize)]
pub struct Checksum {
    pub checksum: String,
    #[serde(rename = "type")]
    pub kind: String,
}

impl Checksum {
    /// A digest as TRS writes it: `sha256:HEX` is `{checksum: HEX, type: sha-256}` (the
    /// GA4GH hash-algorithm registry's names).
    pub fn of_digest(digest: &str) -> Option<Self> {
        let (algorithm, hex) = digest.split_once(':')?;
        let kind = match algorithm {
            "sha256" => "sha-256",
            "sha384" => "sha-384",
            "sha512" => "sha-512",
            other => other,
        };
        Some(Self {
            checksum: hex.to_owned(),
            kind: kind.to_owned(),
        })
    }

    /// The SHA-256 of a file we serve.
    pub fn sha256_of(content: &str) -> Self {
        use sha2::{Digest, Sha256};
        Self {
            checksum: hex::encode(Sha256::digest(content.as_bytes())),
            kind: "sha-256".to_owned(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct FileWrapper {
    pub content: String,
    pub checksum: Vec<Checksum>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// A file of a version's descriptor, by path (2.0.1's `checksum` left out: strict 2.0.0
/// clients refuse it).
#[derive(Debug, Serialize)]
pub struct ToolFile {
    pub path: String,
    pub file_type: &'static str,
}

/// The TRS error body.
#[derive(Debug, Serialize)]
pub struct Error {
    pub code: u16,
    pub message: String,
}
