//! Just enough of an X.509 reader to take the public key and the validity out of a
//! certificate (RFC 5280 §4.1), without a full certificate parser.

use chrono::{DateTime, Utc};
use der::asn1::{AnyRef, GeneralizedTime, UtcTime};
use der::{Decode as _, Reader as _, SliceReader, Tag, TagNumber, Tagged as _};

/// What the token service needs of a certificate.
pub(super) struct CertificateInfo<'a> {
    /// The DER SubjectPublicKeyInfo.
    pub spki: &'a [u8],
    pub not_before: DateTime<Utc>,
    pub not_after: DateTime<Utc>,
}

/// Reads `Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }`, where
/// `tbsCertificate ::= SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer,
/// validity, subject, subjectPublicKeyInfo, ... }`.
pub(super) fn read_certificate(der: &[u8]) -> der::Result<CertificateInfo<'_>> {
    let certificate = sequence(AnyRef::from_der(der)?)?;
    let mut certificate = SliceReader::new(certificate)?;
    let mut tbs = SliceReader::new(sequence(certificate.decode()?)?)?;
    let version = Tag::ContextSpecific {
        constructed: true,
        number: TagNumber::N0,
    };
    if tbs.peek_tag()? == version {
        tbs.tlv_bytes()?;
    }
    tbs.tlv_bytes()?; // serialNumber
    tbs.tlv_bytes()?; // signature
    tbs.tlv_bytes()?; // issuer
    let mut validity = SliceReader::new(sequence(tbs.decode()?)?)?;
    tbs.tlv_bytes()?; // subject
    let spki = tbs.tlv_bytes()?;
    Ok(CertificateInfo {
        spki,
        not_before: time(&mut validity)?,
        not_after: time(&mut validity)?,
    })
}

/// The contents of a SEQUENCE.
fn sequence(any: AnyRef<'_>) -> der::Result<&[u8]> {
    any.tag().assert_eq(Tag::Sequence)?;
    Ok(any.value())
}

/// `Time ::= CHOICE { utcTime UTCTime, generalTime GeneralizedTime }`.
fn time(reader: &mut SliceReader<'_>) -> der::Result<DateTime<Utc>> {
    let since_epoch = match reader.peek_tag()? {
        Tag::UtcTime => reader.decode::<UtcTime>()?.to_unix_duration(),
        Tag::GeneralizedTime => reader.decode::<GeneralizedTime>()?.to_unix_duration(),
        tag => return Err(tag.value_error()),
    };
    i64::try_from(since_epoch.as_secs())
        .ok()
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| Tag::GeneralizedTime.value_error())
}
