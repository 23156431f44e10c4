from babyweb import respond, succeed


def response():
    succeed("hello from babyweb")


respond(response)
