# Run after the test binary is built (cmake -P): lists its Catch2 tests and writes a CTest
# include file with one add_test per TEST_CASE, labelled by its tags ([slow] -> label "slow").
# Catch2 v2's own catch_discover_tests cannot turn tags into labels. Exit status 77 is a skip
# (tests/skip.h). No ENVIRONMENT: a caller's TRELLIS_GOLDENS reaches the tests (tests/goldens.h
# defaults to the in-tree tests/data/goldens).
#   -D TEST_EXE=... -D OUT_FILE=... -D WORK_DIR=...
execute_process(COMMAND "${TEST_EXE}" --list-test-names-only
  OUTPUT_VARIABLE names_out RESULT_VARIABLE rc)
# Catch2 v2 exits with the number of tests listed; only a crash (a text result) is an error.
if(NOT rc MATCHES "^[0-9]+$")
  message(FATAL_ERROR "listing tests of ${TEST_EXE} failed (${rc})")
endif()
execute_process(COMMAND "${TEST_EXE}" --list-tags OUTPUT_VARIABLE tags_out)
string(REGEX MATCHALL "\\[[A-Za-z0-9_.-]+\\]" tags "${tags_out}")
list(REMOVE_DUPLICATES tags)

string(REPLACE ";" "\\;" names_out "${names_out}")
string(REPLACE "\n" ";" names "${names_out}")
set(content "")
foreach(tag ${tags})
  execute_process(COMMAND "${TEST_EXE}" --list-test-names-only "${tag}" OUTPUT_VARIABLE in_tag)
  string(REPLACE ";" "\\;" in_tag "${in_tag}")
  string(REPLACE "\n" ";" in_tag "${in_tag}")
  string(REGEX REPLACE "^\\[(.*)\\]$" "\\1" label "${tag}")
  foreach(n ${in_tag})
    if(NOT n STREQUAL "")
      string(MD5 key "${n}")
      list(APPEND labels_${key} "${label}")
    endif()
  endforeach()
endforeach()

foreach(n ${names})
  if(n STREQUAL "")
    continue()
  endif()
  if(n MATCHES "^-")
    message(FATAL_ERROR "test name '${n}' starts with '-': Catch2 would read it as an option")
  endif()
  string(MD5 key "${n}")
  # Escape characters that are special in a Catch2 test spec (commas, brackets).
  string(REGEX REPLACE "([],[\\\\])" "\\\\\\1" spec "${n}")
  string(REPLACE "\"" "\\\"" qname "${n}")
  # The spec's backslashes must survive CMake's own string parsing in the generated file.
  string(REPLACE "\\" "\\\\" qspec "${spec}")
  string(REPLACE "\"" "\\\"" qspec "${qspec}")
  set(lab "${labels_${key}}")
  string(APPEND content
    "add_test(\"${qname}\" \"${TEST_EXE}\" \"${qspec}\")\n"
    "set_tests_properties(\"${qname}\" PROPERTIES WORKING_DIRECTORY \"${WORK_DIR}\" "
    "SKIP_RETURN_CODE 77 LABELS \"${lab}\")\n")
endforeach()
file(WRITE "${OUT_FILE}" "${content}")
