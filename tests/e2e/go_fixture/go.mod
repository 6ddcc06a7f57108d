module tlsdump.test/gofixture

go 1.19
