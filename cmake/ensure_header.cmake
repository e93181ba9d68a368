# Run after cargo by the raknet_cargo target: build.rs writes the header into the build
# tree whenever it runs; if it did not run this time and the copy is missing (deleted by
# hand), fall back to the committed header, which tests/header.rs keeps fresh.
if(NOT EXISTS "${DEST}")
  message(STATUS "raknet.h: using the committed ${SOURCE}")
  configure_file("${SOURCE}" "${DEST}" COPYONLY)
endif()
