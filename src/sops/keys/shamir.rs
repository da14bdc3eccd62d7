//! Shamir secret sharing over GF(2^8) exactly as sops splits and recombines the data key across
//! key groups (SOPS.md §6.5): the AES polynomial 0x11B, one random polynomial per key byte, share
//! `i` evaluated at x = i+1, and the share laid out as the 32 y-bytes followed by the x byte.
//!
//! Hand-written because no maintained crate produces this exact share layout; it is ~60 lines of
//! field arithmetic. Shares are secret material and are wiped on drop.

use rand::RngCore;
use zeroize::Zeroizing;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    #[error("threshold must be at least 2")]
    ThresholdTooSmall,
    #[error("parts cannot be less than threshold")]
    TooFewParts,
    #[error("parts cannot exceed 255")]
    TooManyParts,
    #[error("less than two parts cannot be used to reconstruct the secret")]
    NotEnoughParts,
    #[error("all parts must be the same length")]
    LengthMismatch,
    #[error("duplicate part detected")]
    Duplicate,
}

/// Multiplication in GF(2^8) modulo x^8+x^4+x^3+x+1, constant-time in its inputs.
fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut r = 0u8;
    for _ in 0..8 {
        r ^= a & 0u8.wrapping_sub(b & 1);
        let hi = a >> 7;
        a = (a << 1) ^ (0x1b & 0u8.wrapping_sub(hi));
        b >>= 1;
    }
    r
}

/// Inverse as a^254 (a^-1 for a ≠ 0).
fn inv(a: u8) -> u8 {
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u8;
    while e > 0 {
        if e & 1 == 1 {
            result = mul(result, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    result
}

/// Splits `secret` into `parts` shares, any `threshold` of which recombine it.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if threshold < 2 {
        return Err(ShamirError::ThresholdTooSmall);
    }
    if parts < threshold {
        return Err(ShamirError::TooFewParts);
    }
    if parts > 255 {
        return Err(ShamirError::TooManyParts);
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = (0..parts)
        .map(|i| {
            let mut v = vec![0u8; secret.len() + 1];
            v[secret.len()] = (i + 1) as u8;
            Zeroizing::new(v)
        })
        .collect();
    let mut coeffs = Zeroizing::new(vec![0u8; threshold]);
    for (byte_idx, &s) in secret.iter().enumerate() {
        coeffs[0] = s;
        rand::rngs::OsRng.fill_bytes(&mut coeffs[1..]);
        for share in shares.iter_mut() {
            let x = share[secret.len()];
            // Horner's rule from the highest coefficient down.
            let mut y = 0u8;
            for &c in coeffs.iter().rev() {
                y = mul(y, x) ^ c;
            }
            share[byte_idx] = y;
        }
    }
    Ok(shares)
}

/// Recombines shares by Lagrange interpolation at x = 0, byte by byte.
pub fn combine(shares: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    if shares.len() < 2 {
        return Err(ShamirError::NotEnoughParts);
    }
    let len = shares[0].len();
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err(ShamirError::LengthMismatch);
    }
    let xs: Vec<u8> = shares.iter().map(|s| s[len - 1]).collect();
    for i in 0..xs.len() {
        if xs[i + 1..].contains(&xs[i]) {
            return Err(ShamirError::Duplicate);
        }
    }
    let mut out = Zeroizing::new(vec![0u8; len - 1]);
    for (byte_idx, o) in out.iter_mut().enumerate() {
        let mut acc = 0u8;
        for (i, share) in shares.iter().enumerate() {
            // basis_i(0) = Π_{j≠i} x_j / (x_j - x_i); subtraction is XOR in GF(2^8).
            let mut basis = 1u8;
            for (j, &xj) in xs.iter().enumerate() {
                if i != j {
                    basis = mul(basis, mul(xj, inv(xj ^ xs[i])));
                }
            }
            acc ^= mul(share[byte_idx], basis);
        }
        *o = acc;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_inverse() {
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1, "a={a}");
        }
        // A known product in the AES field: 0x57 * 0x83 = 0xc1 (FIPS-197 §4.2).
        assert_eq!(mul(0x57, 0x83), 0xc1);
    }

    #[test]
    fn any_threshold_subset_recovers() {
        let secret: Vec<u8> = (0..32).collect();
        let shares = split(&secret, 3, 2).unwrap();
        assert_eq!(shares[1].len(), 33);
        assert_eq!(shares[1][32], 2, "x byte last (SOPS.md §6.5)");
        for (a, b) in [(0, 1), (0, 2), (1, 2)] {
            let got = combine(&[&shares[a], &shares[b]]).unwrap();
            assert_eq!(&got[..], &secret[..]);
        }
        let all = combine(&[&shares[0], &shares[1], &shares[2]]).unwrap();
        assert_eq!(&all[..], &secret[..]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            split(b"x", 3, 1).unwrap_err(),
            ShamirError::ThresholdTooSmall
        );
        assert_eq!(split(b"x", 2, 3).unwrap_err(), ShamirError::TooFewParts);
        let s = split(b"abc", 2, 2).unwrap();
        assert_eq!(
            combine(&[&s[0], &s[0]]).unwrap_err(),
            ShamirError::Duplicate
        );
    }
}
