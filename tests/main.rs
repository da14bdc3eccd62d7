mod placeholder {
    #[test]
    fn builds() {}
}
mod infisical;
