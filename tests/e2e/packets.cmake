# End-to-end tests of the original encrypted packets (--packets,
# --packet-interfaces, -f, --tls-keylog, -p/-c with packets, packet ISBs):
# tests/e2e/test_packets_*.py, helpers in test_packets_lib.py (not a test).
#
# Included from tests/e2e/CMakeLists.txt:
#   include(${CMAKE_CURRENT_SOURCE_DIR}/packets.cmake)
#
# One ctest per test method, found in the scripts at configure time, named
#   test_packets_<script>.<method>        e.g. test_packets_keylog.test_tls12
# with the labels e2e and packets (ctest -R test_packets, or ctest -L packets).
# Like the other e2e scripts they take --binary and --lib, need root (exit 77,
# skipped, otherwise), /usr/bin/python3, openssl, curl, tshark, capinfos and
# ip. They capture on "any" and create a network namespace and a veth with
# 10.231.77.0/30, so they run alone (RUN_SERIAL): other tests' traffic would
# not break them, but their veth and subnet must not be created twice at once.

set(_tlsdump_packets_dir ${CMAKE_CURRENT_LIST_DIR})
file(GLOB _tlsdump_packets_scripts RELATIVE ${_tlsdump_packets_dir}
     ${_tlsdump_packets_dir}/test_packets_*.py)
list(REMOVE_ITEM _tlsdump_packets_scripts test_packets_lib.py)
list(SORT _tlsdump_packets_scripts)

# tshark checks tcp.stream of the plaintext frames against the packets' when it
# has the tlsdump dissector: installed, or this build's plugin (loaded from a
# temporary HOME by tshark run as nobody).
set(_tlsdump_packets_env "PYTHONDONTWRITEBYTECODE=1")
if(TARGET tlsdump_dissector AND TLSDUMP_WIRESHARK_ABI)
  list(APPEND _tlsdump_packets_env
       "TLSDUMP_PACKETS_PLUGIN=$<TARGET_FILE:tlsdump_dissector>"
       "TLSDUMP_PACKETS_PLUGIN_ABI=${TLSDUMP_WIRESHARK_ABI}")
endif()

foreach(_script ${_tlsdump_packets_scripts})
  set(_path ${_tlsdump_packets_dir}/${_script})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_path})
  string(REGEX REPLACE "\\.py$" "" _stem ${_script})
  file(STRINGS ${_path} _class_lines REGEX "^class [A-Za-z0-9_]+\\(")
  file(STRINGS ${_path} _method_lines REGEX "^    def test_[A-Za-z0-9_]+\\(self")
  list(LENGTH _class_lines _n_classes)
  if(NOT _n_classes EQUAL 1)
    message(FATAL_ERROR "${_script}: expected one test class, found ${_n_classes}")
  endif()
  string(REGEX REPLACE "^class ([A-Za-z0-9_]+)\\(.*" "\\1" _class "${_class_lines}")
  foreach(_line ${_method_lines})
    string(REGEX REPLACE "^    def (test_[A-Za-z0-9_]+)\\(.*" "\\1" _method "${_line}")
    set(_name ${_stem}.${_method})
    add_test(NAME ${_name}
             COMMAND /usr/bin/python3 ${_path}
                     --binary $<TARGET_FILE:tlsdump>
                     --lib ${PROJECT_SOURCE_DIR}/tests/lib
                     ${_class}.${_method})
    set_tests_properties(${_name} PROPERTIES
      LABELS "e2e;packets"
      SKIP_RETURN_CODE 77
      TIMEOUT 120
      RUN_SERIAL TRUE
      ENVIRONMENT "${_tlsdump_packets_env}")
  endforeach()
endforeach()

unset(_tlsdump_packets_dir)
unset(_tlsdump_packets_scripts)
unset(_tlsdump_packets_env)
