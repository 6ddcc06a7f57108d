module tlsdump.test/offsets

go 1.17
