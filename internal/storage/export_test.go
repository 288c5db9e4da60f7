package storage

// TestStore runs the contract suite from the external test package (s3_test.go),
// which can import s3test without an import cycle.
var TestStore = testStore
