"""Pro Santé Connect (PSC): the login of French health professionals, with e-CPS or CPS card.

client.py speaks OpenID Connect to the provider (authlib + joserfc); claims.py reads PSC's
claims (SubjectNameID, SubjectRefPro); services.py matches a login to a member and records
it; views.py and urls.py are the pages under /connexion/psc/. See docs/psc.md for the choices.
"""
