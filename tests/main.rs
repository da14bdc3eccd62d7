mod placeholder {
    #[test]
    fn builds() {}
}
mod external_secrets;
