//! [`texts!`]: one section of the table, an enum whose variants carry their English and Chinese
//! texts side by side.

/// `texts! { /// doc  pub enum Name { Key => "English", "中文"; … } }` declares the enum, its
/// `ALL` list (for the tests) and its [`Text`](super::Text) implementation.
macro_rules! texts {
    ($(#[$meta:meta])* pub enum $name:ident { $($key:ident => $en:expr, $zh:expr;)* }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($key,)*
        }

        impl $name {
            /// Every text of this section, for the tests.
            pub const ALL: &'static [$name] = &[$($name::$key),*];
        }

        impl $crate::ui::i18n::Text for $name {
            fn en(self) -> &'static str {
                match self {
                    $($name::$key => $en,)*
                }
            }
            fn zh(self) -> &'static str {
                match self {
                    $($name::$key => $zh,)*
                }
            }
        }
    };
}
