use super::*;

const DOCKER_MANIFEST: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
  "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1500,
             "digest": "sha256:aaaa"},
  "layers": [
    {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 30000000,
     "digest": "sha256:bbbb"},
    {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 2500,
     "digest": "sha256:cccc"}
  ]
}"#;

/// What `docker buildx` pushes: two platforms and their attestations.
const OCI_INDEX: &str = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1000,
     "digest": "sha256:arm", "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1000,
     "digest": "sha256:amd", "platform": {"architecture": "amd64", "os": "linux"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 800,
     "digest": "sha256:att", "platform": {"architecture": "unknown", "os": "unknown"},
     "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 1000,
     "digest": "sha256:amd2", "platform": {"architecture": "amd64", "os": "linux"}}
  ]
}"#;

const CONFIG: &str = r#"{
  "architecture": "arm",
  "os": "linux",
  "variant": "v7",
  "config": {
    "Env": ["PATH=/usr/bin"],
    "Labels": {
      "org.opencontainers.image.version": "1.19",
      "edam.topic": "http://edamontology.org/topic_0102",
      "not.a.string": 3
    }
  },
  "rootfs": {"type": "layers", "diff_ids": []}
}"#;

fn image_manifest(raw: &str) -> ImageManifest {
    match Manifest::parse(raw.as_bytes(), None).unwrap() {
        Manifest::Image(image) => image,
        Manifest::Index(_) => panic!("expected an image manifest"),
    }
}

#[test]
fn an_image_is_sized_from_config_and_layers_and_keeps_string_labels() {
    let manifest = image_manifest(DOCKER_MANIFEST);
    let config = ImageConfig::parse(CONFIG.as_bytes()).unwrap();
    let image = Image::of(&manifest, &config, None);
    assert_eq!(image.size, 1500 + 30_000_000 + 2500);
    assert_eq!(image.platforms, ["linux/arm/v7"]);
    assert_eq!(
        image.labels.keys().collect::<Vec<_>>(),
        ["edam.topic", "org.opencontainers.image.version"]
    );
}

#[test]
fn an_oci_manifest_without_media_type_is_still_an_image() {
    let raw = r#"{"schemaVersion": 2, "config": {"digest": "sha256:c", "size": 10}, "layers": []}"#;
    assert_eq!(image_manifest(raw).config.digest, "sha256:c");
}

#[test]
fn an_index_lists_real_platforms_once_and_prefers_linux_amd64() {
    let Manifest::Index(index) = Manifest::parse(OCI_INDEX.as_bytes(), None).unwrap() else {
        panic!("expected an index");
    };
    assert_eq!(index.platforms(), ["linux/arm64/v8", "linux/amd64"]);
    assert_eq!(index.chosen().unwrap().digest, "sha256:amd");

    let config = ImageConfig::parse(CONFIG.as_bytes()).unwrap();
    let image = Image::of(
        &image_manifest(DOCKER_MANIFEST),
        &config,
        Some(index.platforms()),
    );
    assert_eq!(
        image.platforms,
        ["linux/arm64/v8", "linux/amd64"],
        "an index's platforms win over the chosen image's"
    );
}

#[test]
fn without_linux_amd64_the_first_real_platform_is_chosen() {
    let raw = r#"{"manifests": [
        {"digest": "sha256:att", "size": 1, "platform": {"architecture": "unknown", "os": "unknown"}},
        {"digest": "sha256:ppc", "size": 1, "platform": {"architecture": "ppc64le", "os": "linux"}}
    ]}"#;
    let Manifest::Index(index) = Manifest::parse(raw.as_bytes(), None).unwrap() else {
        panic!("expected an index");
    };
    assert_eq!(index.chosen().unwrap().digest, "sha256:ppc");
}

#[test]
fn a_config_without_labels_has_none() {
    let config = ImageConfig::parse(
        br#"{"os": "linux", "architecture": "amd64", "config": {"Labels": null}}"#,
    )
    .unwrap();
    let image = Image::of(&image_manifest(DOCKER_MANIFEST), &config, None);
    assert!(image.labels.is_empty());
    assert_eq!(image.platforms, ["linux/amd64"]);
}

#[test]
fn other_documents_are_refused() {
    assert!(Manifest::parse(br#"{"schemaVersion": 1, "fsLayers": []}"#, None).is_err());
    assert!(Manifest::parse(b"<html>", None).is_err());
}
