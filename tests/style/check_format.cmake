# check_format.cmake: body of the clang_format ctest. Lists the C sources at run time
# and fails naming every file clang-format would change.
if(NOT CLANG_FORMAT OR NOT EXISTS "${CLANG_FORMAT}")
  message(FATAL_ERROR "clang-format not found (Debian: apt-get install clang-format)")
endif()
file(GLOB_RECURSE files LIST_DIRECTORIES false
     ${ROOT}/server/*.c ${ROOT}/server/*.h
     ${ROOT}/workers/*.c ${ROOT}/workers/*.h
     ${ROOT}/tests/*.c ${ROOT}/tests/*.h)
list(SORT files)
list(LENGTH files count)
if(count EQUAL 0)
  message(FATAL_ERROR "no C sources found under ${ROOT}")
endif()
set(bad "")
foreach(f IN LISTS files)
  execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror --style=file ${f}
                  WORKING_DIRECTORY ${ROOT}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    file(RELATIVE_PATH rel ${ROOT} ${f})
    list(APPEND bad ${rel})
    message("${out}")
  endif()
endforeach()
if(bad)
  list(LENGTH bad nbad)
  list(JOIN bad "\n  " listing)
  message(FATAL_ERROR "${nbad} of ${count} files are not formatted (clang-format -i FILE):\n  ${listing}")
endif()
message("clang-format: ${count} files formatted")
