//! MathML for the lessons' formulas: small builders so a formula reads close to its maths.
//! Numbers are filled in with the engine's values as the user moves them.

use yew::prelude::*;

use crate::ui::format::sig4;

/// An identifier (a variable name), in italics as MathML draws single letters.
pub fn mi(name: &str) -> Html {
    html! { <mi>{name}</mi> }
}

/// An operator or bracket.
pub fn mo(op: &str) -> Html {
    html! { <mo>{op}</mo> }
}

/// A number, with four significant digits.
pub fn mn(v: f64) -> Html {
    html! { <mn>{sig4(Some(v))}</mn> }
}

/// An integer.
pub fn mint(v: i64) -> Html {
    html! { <mn>{v.to_string()}</mn> }
}

/// A row of pieces.
pub fn row(parts: Vec<Html>) -> Html {
    html! { <mrow>{ for parts }</mrow> }
}

/// A fraction.
pub fn frac(num: Html, den: Html) -> Html {
    html! { <mfrac>{num}{den}</mfrac> }
}

/// A displayed equation (`<math display="block">`) with a text alternative for screen readers.
pub fn block(label: &str, parts: Vec<Html>) -> Html {
    html! { <math display="block" aria-label={label.to_string()}>{ for parts }</math> }
}

/// A function applied to arguments: `name(a, b, …)`.
pub fn call(name: &str, args: Vec<Html>) -> Html {
    let mut parts = vec![mi(name), mo("(")];
    for (i, a) in args.into_iter().enumerate() {
        if i > 0 {
            parts.push(mo(","));
        }
        parts.push(a);
    }
    parts.push(mo(")"));
    row(parts)
}
