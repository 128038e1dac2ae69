//! Synthetic demo containers: bioinformatics-like names, Markdown descriptions, labels and
//! several tags. Deterministic (container `i` is always the same), and clearly marked as
//! synthetic in its description and with the label `org.bioshadock.synthetic=true`.

use std::collections::BTreeMap;

use bioshadock_core::edam::{Branch, Edam};
use bioshadock_core::model::now;
use bioshadock_core::{Container, RepoName, Tag, TagName, Visibility};
use chrono::Duration;

const NAMESPACES: &[&str] = &[
    "genomics-core",
    "proteomics",
    "imaging",
    "metagenomics",
    "single-cell",
    "structural-bio",
    "demo-lab",
    "biostat",
    "evolution",
    "plant-sci",
];

/// (tool, what it does, EDAM-style topic, licence)
const TOOLS: &[(&str, &str, &str, &str)] = &[
    (
        "samtools",
        "Reads, writes and indexes SAM/BAM/CRAM alignment files.",
        "Sequence analysis",
        "MIT",
    ),
    (
        "bcftools",
        "Calls and filters variants in VCF/BCF files.",
        "Genetic variation",
        "MIT",
    ),
    (
        "bwa",
        "Aligns short reads to a reference genome with the Burrows-Wheeler transform.",
        "Mapping",
        "GPL-3.0",
    ),
    (
        "bwa-mem2",
        "A faster successor of BWA-MEM for short-read alignment.",
        "Mapping",
        "MIT",
    ),
    (
        "bowtie2",
        "Aligns sequencing reads to long reference sequences.",
        "Mapping",
        "GPL-3.0",
    ),
    (
        "minimap2",
        "Aligns long reads and assemblies, fast and versatile.",
        "Mapping",
        "MIT",
    ),
    (
        "hisat2",
        "Spliced alignment of RNA-seq reads.",
        "RNA-seq",
        "GPL-3.0",
    ),
    (
        "star",
        "Ultrafast universal RNA-seq aligner.",
        "RNA-seq",
        "MIT",
    ),
    (
        "salmon",
        "Transcript quantification from RNA-seq reads.",
        "Gene expression",
        "GPL-3.0",
    ),
    (
        "kallisto",
        "Near-optimal RNA-seq quantification by pseudoalignment.",
        "Gene expression",
        "BSD-2-Clause",
    ),
    (
        "fastqc",
        "Quality control reports for high-throughput sequencing data.",
        "Quality control",
        "GPL-3.0",
    ),
    (
        "multiqc",
        "Aggregates bioinformatics results into one report.",
        "Quality control",
        "GPL-3.0",
    ),
    (
        "trimmomatic",
        "Trims adapters and low-quality bases from Illumina reads.",
        "Sequencing",
        "GPL-3.0",
    ),
    (
        "cutadapt",
        "Removes adapter sequences from sequencing reads.",
        "Sequencing",
        "MIT",
    ),
    (
        "fastp",
        "All-in-one FASTQ preprocessor.",
        "Sequencing",
        "MIT",
    ),
    (
        "spades",
        "Genome assembler for small genomes and single cells.",
        "Sequence assembly",
        "GPL-2.0",
    ),
    (
        "megahit",
        "Ultra-fast metagenome assembler.",
        "Metagenomics",
        "GPL-3.0",
    ),
    (
        "flye",
        "De novo assembler for long, error-prone reads.",
        "Sequence assembly",
        "BSD-3-Clause",
    ),
    (
        "canu",
        "Single-molecule sequence assembler.",
        "Sequence assembly",
        "GPL-2.0",
    ),
    (
        "quast",
        "Quality assessment of genome assemblies.",
        "Sequence assembly",
        "GPL-2.0",
    ),
    (
        "busco",
        "Assesses genome completeness with single-copy orthologs.",
        "Genomics",
        "MIT",
    ),
    (
        "prokka",
        "Rapid annotation of prokaryotic genomes.",
        "Genome annotation",
        "GPL-3.0",
    ),
    (
        "augustus",
        "Predicts genes in eukaryotic genomic sequences.",
        "Gene prediction",
        "Artistic-1.0",
    ),
    (
        "blast",
        "Finds regions of similarity between biological sequences.",
        "Sequence similarity",
        "Public-Domain",
    ),
    (
        "diamond",
        "Accelerated protein alignment, BLAST-compatible.",
        "Sequence similarity",
        "GPL-3.0",
    ),
    (
        "hmmer",
        "Searches sequence databases with profile hidden Markov models.",
        "Sequence sites",
        "BSD-3-Clause",
    ),
    (
        "mafft",
        "Multiple sequence alignment.",
        "Sequence alignment",
        "BSD-3-Clause",
    ),
    (
        "muscle",
        "Multiple sequence alignment with high accuracy.",
        "Sequence alignment",
        "GPL-3.0",
    ),
    (
        "clustalo",
        "Scalable multiple sequence alignment.",
        "Sequence alignment",
        "GPL-2.0",
    ),
    (
        "iqtree",
        "Maximum-likelihood phylogenetic inference.",
        "Phylogenetics",
        "GPL-2.0",
    ),
    (
        "raxml-ng",
        "Phylogenetic tree inference by maximum likelihood.",
        "Phylogenetics",
        "AGPL-3.0",
    ),
    (
        "beast2",
        "Bayesian evolutionary analysis by sampling trees.",
        "Phylogenetics",
        "LGPL-2.1",
    ),
    (
        "gatk",
        "Variant discovery in high-throughput sequencing data.",
        "Genetic variation",
        "BSD-3-Clause",
    ),
    (
        "freebayes",
        "Bayesian haplotype-based variant detection.",
        "Genetic variation",
        "MIT",
    ),
    (
        "deepvariant",
        "Variant calling with deep neural networks.",
        "Genetic variation",
        "BSD-3-Clause",
    ),
    (
        "picard",
        "Manipulates high-throughput sequencing data and formats.",
        "Sequencing",
        "MIT",
    ),
    (
        "bedtools",
        "A Swiss-army knife for genomic interval arithmetic.",
        "Genomics",
        "MIT",
    ),
    (
        "deeptools",
        "Exploring deep-sequencing data: coverage, heatmaps, profiles.",
        "ChIP-seq",
        "MIT",
    ),
    (
        "macs2",
        "Model-based analysis of ChIP-seq peaks.",
        "ChIP-seq",
        "BSD-3-Clause",
    ),
    (
        "homer",
        "Motif discovery and next-gen sequencing analysis.",
        "Transcription factors",
        "GPL-3.0",
    ),
    (
        "kraken2",
        "Taxonomic classification of metagenomic reads.",
        "Metagenomics",
        "MIT",
    ),
    (
        "metaphlan",
        "Profiles the composition of microbial communities.",
        "Metagenomics",
        "MIT",
    ),
    (
        "humann",
        "Functional profiling of microbial communities.",
        "Metagenomics",
        "MIT",
    ),
    (
        "qiime2",
        "Microbiome bioinformatics from raw data to publication.",
        "Microbial ecology",
        "BSD-3-Clause",
    ),
    (
        "scanpy",
        "Single-cell analysis in Python.",
        "Transcriptomics",
        "BSD-3-Clause",
    ),
    (
        "seurat",
        "Single-cell genomics toolkit for R.",
        "Transcriptomics",
        "MIT",
    ),
    (
        "cellranger-demo",
        "Demo pipeline for droplet single-cell RNA-seq.",
        "Transcriptomics",
        "MIT",
    ),
    (
        "deseq2",
        "Differential expression analysis of count data.",
        "Gene expression",
        "LGPL-3.0",
    ),
    (
        "edger",
        "Empirical analysis of digital gene expression data.",
        "Gene expression",
        "GPL-2.0",
    ),
    (
        "snakemake",
        "Reproducible and scalable data analysis workflows.",
        "Workflows",
        "MIT",
    ),
    (
        "nextflow",
        "Data-driven computational pipelines.",
        "Workflows",
        "Apache-2.0",
    ),
    (
        "openms",
        "Mass spectrometry data analysis.",
        "Proteomics",
        "BSD-3-Clause",
    ),
    (
        "maxquant-demo",
        "Quantitative proteomics from mass spectrometry data.",
        "Proteomics",
        "MIT",
    ),
    (
        "pymol",
        "Molecular visualisation of proteins and structures.",
        "Structural biology",
        "BSD-3-Clause",
    ),
    (
        "gromacs",
        "Molecular dynamics simulation.",
        "Molecular dynamics",
        "LGPL-2.1",
    ),
    (
        "alphafold-demo",
        "Protein structure prediction (demo packaging).",
        "Protein structure",
        "Apache-2.0",
    ),
    (
        "fiji",
        "ImageJ with batteries included, for biological images.",
        "Bioimaging",
        "GPL-3.0",
    ),
    (
        "cellprofiler",
        "Measures phenotypes from cell images automatically.",
        "Bioimaging",
        "BSD-3-Clause",
    ),
    (
        "plink",
        "Whole-genome association analysis.",
        "GWAS study",
        "GPL-3.0",
    ),
    (
        "r-bioconductor",
        "R with a curated set of Bioconductor packages.",
        "Statistics",
        "Artistic-2.0",
    ),
];

/// Suffixes that make more names once every namespace has every tool.
const VARIANTS: &[&str] = &[
    "slim", "gpu", "conda", "dev", "py3", "static", "mpi", "arm64",
];

/// Yields `count` synthetic containers, newest first.
pub struct SyntheticCatalogue {
    next: u64,
    count: u64,
    base_time: chrono::DateTime<chrono::Utc>,
}

impl SyntheticCatalogue {
    pub fn new(count: u64) -> Self {
        Self {
            next: 0,
            count,
            base_time: now(),
        }
    }
}

impl Iterator for SyntheticCatalogue {
    type Item = Container;

    fn next(&mut self) -> Option<Container> {
        (self.next < self.count).then(|| {
            let container = synthetic(self.next, self.base_time);
            self.next += 1;
            container
        })
    }
}

/// SplitMix64: a stable pseudo-random number for container `i` and a purpose.
fn mix(i: u64, salt: u64) -> u64 {
    let mut z = i
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(salt.wrapping_mul(0xBF58_476D_1CE4_E5B9));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn synthetic(i: u64, base_time: chrono::DateTime<chrono::Utc>) -> Container {
    let ns_count = NAMESPACES.len() as u64;
    let tool_count = TOOLS.len() as u64;
    let namespace = NAMESPACES[(i % ns_count) as usize];
    let (tool, blurb, topic, licence) = TOOLS[((i / ns_count) % tool_count) as usize];
    let round = i / (ns_count * tool_count);
    let name = match round {
        0 => tool.to_owned(),
        r => {
            let variant = VARIANTS[((r - 1) % VARIANTS.len() as u64) as usize];
            let generation = (r - 1) / VARIANTS.len() as u64;
            if generation == 0 {
                format!("{tool}-{variant}")
            } else {
                format!("{tool}-{variant}{generation}")
            }
        }
    };
    let id = RepoName::parse(&format!("{namespace}/{name}"))
        .expect("synthetic names follow the grammar");
    let visibility = if i % 10 == 9 {
        Visibility::Private
    } else {
        Visibility::Public
    };
    let mut c = Container::new(id, namespace, visibility);
    let updated = base_time - Duration::minutes(i as i64);
    c.created_at = updated - Duration::days((mix(i, 1) % 700) as i64);
    c.updated_at = updated;
    c.pulls = mix(i, 2) % 50_000;
    c.description = format!(
        "# {name}\n\n{blurb}\n\n> Synthetic demo container generated by `bioshadock seed`: not a real image.\n\n\
         ## Usage\n\n```sh\ndocker run --rm {namespace}/{name} {tool} --help\n```\n\n\
         Topic: **{topic}**. Licence: {licence}.\n"
    );
    c.tags = tags(i, updated);
    let version = c
        .tags
        .iter()
        .find(|t| t.name.as_str() != "latest")
        .map(|t| t.name.to_string());
    c.labels = labels(tool, blurb, topic, licence, version);
    c.labels.extend(bio_labels(i, tool, blurb, topic, licence));
    c
}

/// The bio label conventions real images carry, in turn: BioContainers keys, the original
/// Bioshadock's `ANNOT.*` keys (EDAM ids in a list literal, now and then a placeholder such as
/// real Dockerfiles hold), or none beyond the OCI ones; so tool cards, facets and benchmarks
/// meet what they will meet in a lab.
fn bio_labels(
    i: u64,
    tool: &str,
    blurb: &str,
    topic: &str,
    licence: &str,
) -> BTreeMap<String, String> {
    let topic_id = Edam::get()
        .resolve(topic, Branch::Topic)
        .unwrap_or_else(|_| "topic_0003".to_owned());
    let pairs: Vec<(&str, String)> = match i % 3 {
        0 => vec![
            ("software", tool.to_owned()),
            ("about.summary", blurb.to_owned()),
            (
                "about.home",
                format!("https://example.org/synthetic/{tool}"),
            ),
            ("about.license", format!("SPDX:{licence}")),
            ("about.tags", topic.to_owned()),
            ("extra.identifiers.biotools", tool.to_owned()),
        ],
        1 => {
            let operations = if i % 17 == 1 {
                "['operation_2945', 'operation_XXXX']"
            } else {
                "['operation_2945']"
            };
            vec![
                ("ANNOT.Name", tool.to_owned()),
                ("ANNOT.Description", blurb.to_owned()),
                ("ANNOT.EDAM_Topic", format!("['{topic_id}']")),
                ("ANNOT.EDAM_Operation", operations.to_owned()),
                (
                    "ANNOT.Reference",
                    "['doi:10.1093/bioinformatics/btp352']".to_owned(),
                ),
            ]
        }
        _ => Vec::new(),
    };
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

fn tags(i: u64, newest: chrono::DateTime<chrono::Utc>) -> Vec<Tag> {
    let versions = 1 + mix(i, 3) % 4;
    let major = 1 + mix(i, 4) % 3;
    let mut tags = Vec::new();
    for v in 0..versions {
        let minor = versions - v;
        let pushed_at = newest - Duration::days((v * 30) as i64);
        let name = format!("{major}.{minor}.{}", mix(i, 5 + v) % 10);
        tags.push(tag(i, v, &name, pushed_at));
    }
    tags.push(tag(i, versions, "latest", newest));
    let mut container_tags = tags;
    container_tags.sort_by(|a, b| {
        b.pushed_at
            .cmp(&a.pushed_at)
            .then_with(|| a.name.cmp(&b.name))
    });
    container_tags
}

fn tag(i: u64, v: u64, name: &str, pushed_at: chrono::DateTime<chrono::Utc>) -> Tag {
    let digest_source = (
        mix(i, 100 + v),
        mix(i, 200 + v),
        mix(i, 300 + v),
        mix(i, 400 + v),
    );
    Tag {
        name: TagName::parse(name).expect("synthetic tags follow the grammar"),
        digest: format!(
            "sha256:{:016x}{:016x}{:016x}{:016x}",
            digest_source.0, digest_source.1, digest_source.2, digest_source.3
        ),
        size: 20_000_000 + mix(i, 500 + v) % 1_500_000_000,
        platforms: if mix(i, 6).is_multiple_of(3) {
            vec!["linux/amd64".into(), "linux/arm64".into()]
        } else {
            vec!["linux/amd64".into()]
        },
        pushed_at,
    }
}

fn labels(
    tool: &str,
    blurb: &str,
    topic: &str,
    licence: &str,
    version: Option<String>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        ("org.opencontainers.image.title".to_owned(), tool.to_owned()),
        (
            "org.opencontainers.image.description".to_owned(),
            blurb.to_owned(),
        ),
        (
            "org.opencontainers.image.licenses".to_owned(),
            licence.to_owned(),
        ),
        (
            "org.opencontainers.image.source".to_owned(),
            format!("https://example.org/synthetic/{tool}"),
        ),
        ("edam.topic".to_owned(), topic.to_owned()),
        ("org.bioshadock.synthetic".to_owned(), "true".to_owned()),
    ]);
    if let Some(version) = version {
        labels.insert("org.opencontainers.image.version".to_owned(), version);
    }
    labels
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_containers_read_as_tools_with_edam_terms() {
        let base = now();
        let tools: Vec<_> = (0..60)
            .map(|i| bioshadock_core::tool::ToolMetadata::from_labels(&synthetic(i, base).labels))
            .collect();
        assert!(tools.iter().all(|t| t.name.is_some()));
        let with_topics = tools.iter().filter(|t| !t.topics.is_empty()).count();
        assert!(
            with_topics >= 50,
            "nearly every topic resolves: {with_topics} of 60"
        );
        assert!(tools.iter().any(|t| !t.biotools.is_empty()));
        assert!(tools.iter().any(|t| !t.operations.is_empty()));
        assert!(
            tools.iter().any(|t| !t.problems.is_empty()),
            "some invalid values, as in real images"
        );
    }

    #[test]
    fn names_are_unique_and_valid_for_a_large_catalogue() {
        let base = now();
        let ids: std::collections::HashSet<_> =
            (0..20_000).map(|i| synthetic(i, base).id).collect();
        assert_eq!(ids.len(), 20_000);
    }

    #[test]
    fn containers_are_marked_synthetic_and_newest_first() {
        let all: Vec<_> = SyntheticCatalogue::new(30).collect();
        assert!(
            all.iter()
                .all(|c| c.labels["org.bioshadock.synthetic"] == "true")
        );
        assert!(
            all.iter()
                .all(|c| c.description.contains("Synthetic demo container"))
        );
        assert!(all.windows(2).all(|w| w[0].updated_at > w[1].updated_at));
        assert!(
            all.iter()
                .all(|c| c.tags.len() >= 2 && c.tags[0].pushed_at >= c.tags[1].pushed_at)
        );
        assert!(
            all.iter().any(|c| !c.visibility.is_public()),
            "some are private, to exercise filtering"
        );
    }
}
