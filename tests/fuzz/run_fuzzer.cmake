# run_fuzzer.cmake: the body of the fuzz_<NAME>_run ctests (see CMakeLists.txt). Copies
# the seed corpus SEED to WORK/corpus/NAME (fresh each run, so the source tree is never
# written), then runs the libFuzzer binary FUZZER on it for SECONDS; fails on any crash,
# leak, timeout or sanitizer report, naming the input that caused it.
foreach(var FUZZER SEED WORK NAME SECONDS)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D${var}=... is required")
  endif()
endforeach()

set(corpus ${WORK}/corpus/${NAME})
set(artifacts ${WORK}/artifacts/${NAME})
file(REMOVE_RECURSE ${corpus})
file(MAKE_DIRECTORY ${corpus} ${artifacts})
file(COPY ${SEED}/ DESTINATION ${corpus})

execute_process(
  COMMAND ${FUZZER} -max_total_time=${SECONDS} -rss_limit_mb=1024 -timeout=10
          -max_len=4096 -print_final_stats=1 -artifact_prefix=${artifacts}/ ${corpus}
  RESULT_VARIABLE rc
  OUTPUT_VARIABLE out
  ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message("${out}")
  message(FATAL_ERROR "fuzz_${NAME} failed (exit ${rc}); the input is in ${artifacts}/ — "
                      "replay it with fuzz_replay_${NAME} FILE, fix, then add it to "
                      "tests/fuzz/corpus/${NAME}/")
endif()
string(REGEX MATCH "stat::number_of_executed_units: *[0-9]+" runs "${out}")
message("fuzz_${NAME}: ${runs}")
