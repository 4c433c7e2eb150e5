//! Responses verified per second by the SAML SP: a signed assertion, and a signed response carrying
//! an encrypted assertion (the EduConnect shape). Fixtures are signed once with xmlsec1 (installed by
//! scripts/test.sh) and stay valid for the five minutes the SP accepts.
//!
//!   cargo bench --bench saml_verify

#[path = "../tests/saml_support/mod.rs"]
mod saml_support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use saml_support::*;
use std::hint::black_box;

fn verify(c: &mut Criterion) {
    let sp = sp();
    let signed = Fixture::default().build_base64();
    let encrypted = Fixture {
        sign: Sign::Response,
        encrypt_for: Some("sp"),
        ..Fixture::default()
    }
    .build_base64();
    let mut group = c.benchmark_group("saml_verify");
    group.throughput(Throughput::Elements(1));
    for (name, response) in [("signed", &signed), ("signed_encrypted", &encrypted)] {
        assert!(sp.verify_post(response, Some(REQUEST_ID), now()).is_ok());
        group.bench_function(name, |b| {
            b.iter(|| {
                sp.verify_post(black_box(response), Some(REQUEST_ID), now())
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, verify);
criterion_main!(benches);
