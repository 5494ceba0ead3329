SL_MODULE(reduce)
SL_MODULE(signal)
SL_MODULE(sort)
