module smile.test/ffi

go 1.19
