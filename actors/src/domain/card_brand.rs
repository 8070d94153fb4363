//! Card schemes and the issuer prefixes that identify them.

/// The card scheme, derived from the number's issuer identification prefix.
///
/// The brand decides the CVC length and which acquirer route a payment
/// takes; Elo and Hipercard are Brazilian schemes that local customers use
/// widely, so they are told apart from Visa, Mastercard and Diners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CardBrand {
    /// Visa (prefix 4, except the Elo ranges that live inside it).
    Visa,
    /// Mastercard (51–55 and, since 2017, 2221–2720).
    Mastercard,
    /// American Express (34, 37); the only brand with a 4-digit CVC.
    Amex,
    /// Elo, the Brazilian domestic scheme.
    Elo,
    /// Hipercard, the Brazilian scheme originally from Pernambuco.
    Hipercard,
    /// Diners Club (300–305, 3095, 36, 38, 39).
    Diners,
    /// Any prefix we do not recognise; still accepted if Luhn passes.
    Other,
}

impl CardBrand {
    /// Lower-case identifier for APIs and receipts, stable across releases.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Visa => "visa",
            Self::Mastercard => "mastercard",
            Self::Amex => "amex",
            Self::Elo => "elo",
            Self::Hipercard => "hipercard",
            Self::Diners => "diners",
            Self::Other => "other",
        }
    }

    /// The brand for a string of ASCII digits, from published IIN ranges.
    ///
    /// Elo and Hipercard are checked first because several of their ranges
    /// sit inside Visa's, Discover's and Diners' prefixes.
    pub(crate) fn from_digits(digits: &str) -> Self {
        let prefix = |n: usize| digits.get(..n).and_then(|p| p.parse::<u32>().ok());
        let in_ranges = |n: usize, ranges: &[(u32, u32)]| {
            prefix(n).is_some_and(|p| ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&p)))
        };
        if in_ranges(6, ELO_RANGES) {
            Self::Elo
        } else if in_ranges(6, HIPERCARD_RANGES) {
            Self::Hipercard
        } else if in_ranges(2, &[(34, 34), (37, 37)]) {
            Self::Amex
        } else if in_ranges(3, &[(300, 305)])
            || in_ranges(4, &[(3095, 3095)])
            || in_ranges(2, &[(36, 36), (38, 39)])
        {
            Self::Diners
        } else if in_ranges(2, &[(51, 55)]) || in_ranges(4, &[(2221, 2720)]) {
            Self::Mastercard
        } else if digits.starts_with('4') {
            Self::Visa
        } else {
            Self::Other
        }
    }
}

/// Elo's six-digit BIN ranges as published by acquirers (Cielo, Rede).
const ELO_RANGES: &[(u32, u32)] = &[
    (401178, 401179),
    (431274, 431274),
    (438935, 438935),
    (451416, 451416),
    (457393, 457393),
    (457631, 457632),
    (504175, 504175),
    (506699, 506778),
    (509000, 509999),
    (627780, 627780),
    (636297, 636297),
    (636368, 636368),
    (650031, 650033),
    (650035, 650051),
    (650405, 650439),
    (650485, 650538),
    (650541, 650598),
    (650700, 650718),
    (650720, 650727),
    (650901, 650978),
    (651652, 651679),
    (655000, 655019),
    (655021, 655058),
];

/// Hipercard's six-digit BINs (606282 and the 3841x0 series, plus the
/// 637xxx ranges acquirers list for it).
const HIPERCARD_RANGES: &[(u32, u32)] = &[
    (606282, 606282),
    (384100, 384100),
    (384140, 384140),
    (384160, 384160),
    (637095, 637095),
    (637568, 637568),
    (637599, 637599),
    (637609, 637609),
    (637612, 637612),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn brands_by_prefix() {
        let cases = [
            ("378282246310005", CardBrand::Amex),
            ("371449635398431", CardBrand::Amex),
            ("2221000000000009", CardBrand::Mastercard),
            ("2720990000000007", CardBrand::Mastercard),
            ("30569309025904", CardBrand::Diners),
            ("36227206271667", CardBrand::Diners),
            ("6062825624254001", CardBrand::Hipercard),
            ("6362970000457013", CardBrand::Elo),
            ("4011788888888888", CardBrand::Elo),
            ("6011111111111117", CardBrand::Other),
            ("4111111111111111", CardBrand::Visa),
            ("4012888888881881", CardBrand::Visa),
            ("5105105105105100", CardBrand::Mastercard),
            ("5555555555554444", CardBrand::Mastercard),
            ("5067000000000000", CardBrand::Elo),
            ("5090000000000000", CardBrand::Elo),
            ("6504050000000000", CardBrand::Elo),
            ("3841000000000000", CardBrand::Hipercard),
            ("3841400000000000", CardBrand::Hipercard),
            ("3841200000000000", CardBrand::Diners),
            ("30950000000000", CardBrand::Diners),
            ("38000000000000", CardBrand::Diners),
            ("39000000000000", CardBrand::Diners),
            ("30600000000000", CardBrand::Other),
            ("5600000000000000", CardBrand::Other),
            ("1234567812345670", CardBrand::Other),
        ];
        for (number, brand) in cases {
            assert_eq!(CardBrand::from_digits(number), brand, "{number}");
        }
        assert_eq!(CardBrand::Mastercard.as_str(), "mastercard");
        assert_eq!(CardBrand::Amex.as_str(), "amex");
        assert_eq!(CardBrand::Elo.as_str(), "elo");
        assert_eq!(CardBrand::from_digits("2220990000000000"), CardBrand::Other);
        assert_eq!(CardBrand::from_digits("2721000000000000"), CardBrand::Other);
    }
}
