package roomclient

// DecodeList is decodeList, for the benchmarks of package roomclient_test,
// which render with package commands (itself an importer of roomclient).
var DecodeList = decodeList
